# wisp_embed(<target> <namespace> <symbol> [ROOT <dir>] <file>...)
# Embeds files into <target> at build time. Generates a source that defines
#   std::span<const wisp::support::EmbeddedFile> <namespace>::<symbol>()
# listing each file by its path relative to ROOT (default CMAKE_CURRENT_SOURCE_DIR).
set(WISP_EMBED_SCRIPT "${CMAKE_CURRENT_LIST_DIR}/embed_files.cmake")

function(wisp_embed target ns symbol)
  cmake_parse_arguments(PARSE_ARGV 3 EMBED "" "ROOT" "")
  set(root "${CMAKE_CURRENT_SOURCE_DIR}")
  if(EMBED_ROOT)
    set(root "${EMBED_ROOT}")
  endif()
  set(files ${EMBED_UNPARSED_ARGUMENTS})
  set(out "${CMAKE_CURRENT_BINARY_DIR}/embedded_${symbol}.cpp")
  set(list_file "${CMAKE_CURRENT_BINARY_DIR}/embedded_${symbol}.files")
  set(rel_files "")
  foreach(f IN LISTS files)
    file(RELATIVE_PATH rel "${root}" "${f}")
    list(APPEND rel_files "${rel}")
  endforeach()
  string(REPLACE ";" "\n" rel_text "${rel_files}")
  file(CONFIGURE OUTPUT "${list_file}" CONTENT "${rel_text}\n")
  add_custom_command(
    OUTPUT "${out}"
    COMMAND "${CMAKE_COMMAND}" -DROOT=${root} -DLIST=${list_file}
            -DOUT=${out} -DNS=${ns} -DSYMBOL=${symbol} -P "${WISP_EMBED_SCRIPT}"
    DEPENDS ${files} "${list_file}" "${WISP_EMBED_SCRIPT}"
    COMMENT "Embedding ${symbol}"
    VERBATIM)
  # The target may live in another directory (wisp_core is created in src/): a custom target
  # here owns the rule, and the source is marked generated in the target's directory.
  add_custom_target(wisp_embed_${symbol} DEPENDS "${out}")
  add_dependencies(${target} wisp_embed_${symbol})
  set_source_files_properties("${out}" TARGET_DIRECTORY ${target} PROPERTIES GENERATED TRUE)
  target_sources(${target} PRIVATE "${out}")
endfunction()
