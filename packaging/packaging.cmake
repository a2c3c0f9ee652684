# Install layout and CPack (Debian package).
install(DIRECTORY "${PROJECT_SOURCE_DIR}/templates/" DESTINATION "${CMAKE_INSTALL_DATADIR}/wisp/templates"
  USE_SOURCE_PERMISSIONS)
install(FILES "${PROJECT_SOURCE_DIR}/completions/wisp.bash"
  DESTINATION "${CMAKE_INSTALL_DATADIR}/bash-completion/completions" RENAME wisp OPTIONAL)
install(FILES "${PROJECT_SOURCE_DIR}/completions/_wisp"
  DESTINATION "${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions" OPTIONAL)
install(FILES "${PROJECT_SOURCE_DIR}/completions/wisp.fish"
  DESTINATION "${CMAKE_INSTALL_DATADIR}/fish/vendor_completions.d" OPTIONAL)

set(CPACK_PACKAGE_NAME "wisp")
set(CPACK_PACKAGE_VENDOR "wisp developers")
set(CPACK_PACKAGE_CONTACT "wisp developers <dev@wisp.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_GENERATOR "DEB")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS OFF)
set(CPACK_DEBIAN_PACKAGE_SECTION "devel")
set(CPACK_DEBIAN_PACKAGE_DEPENDS
  "libyaml-cpp0.7, libcurl4, libarchive13, libssl3, libfmt9, libboost-json1.81.0")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
include(CPack)
