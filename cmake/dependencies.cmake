# Every dependency comes from a Debian package (packaging/install-deps.sh installs them).
# README.md says why each one is here.

find_package(CLI11 2.1 CONFIG REQUIRED)          # command line (cli/ only)
find_package(yaml-cpp 0.7 CONFIG REQUIRED)       # template loading with source marks
find_package(Boost 1.81 REQUIRED COMPONENTS json) # Asio/Beast/Process (header-only) and JSON
find_package(CURL 7.80 REQUIRED)                 # AWS and registry HTTP client
find_package(LibArchive 3.6 REQUIRED)            # zip and tar writing/reading
find_package(ZLIB REQUIRED)                      # streaming deflate of very large zip entries
find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBDEFLATE REQUIRED IMPORTED_TARGET libdeflate) # fast zip entry compression
find_package(OpenSSL 3 REQUIRED)                 # SHA-256, HMAC (SigV4), TLS
find_package(tomlplusplus 3 CONFIG REQUIRED)     # samconfig.toml with source positions
find_package(fmt 9 CONFIG REQUIRED)              # formatting
find_package(tl-expected 1 CONFIG REQUIRED)      # tl::expected for errors as values
find_package(Threads REQUIRED)
# cctz: IANA time zones for ScheduleV2 expressions (libstdc++ 12 has no std::chrono::tzdb).
find_path(WISP_CCTZ_INCLUDE_DIR cctz/time_zone.h REQUIRED)
find_library(WISP_CCTZ_LIBRARY cctz REQUIRED)
if(WISP_BUILD_TESTS)
  find_package(doctest 2.4 CONFIG REQUIRED)      # unit tests
endif()

# yaml-cpp 0.7's exported target name differs between distributions.
if(TARGET yaml-cpp::yaml-cpp)
  set(WISP_YAML_TARGET yaml-cpp::yaml-cpp)
else()
  set(WISP_YAML_TARGET yaml-cpp)
endif()
