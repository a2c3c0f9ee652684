# Fails when a C++ file under cli/, src/ or tests/unit/ differs from what clang-format (with
# the root .clang-format) makes of it. Run: cmake -DCLANG_FORMAT=... -DROOT=... -P this.
if(NOT CLANG_FORMAT)
  message("PEER MISSING: clang-format not found (packaging/install-deps.sh --with-peers)")
  return()
endif()
file(GLOB_RECURSE files
  "${ROOT}/cli/*.cpp" "${ROOT}/cli/*.hpp"
  "${ROOT}/src/*.cpp" "${ROOT}/src/*.hpp"
  "${ROOT}/tests/unit/*.cpp" "${ROOT}/tests/unit/*.hpp")
list(SORT files)
execute_process(COMMAND "${CLANG_FORMAT}" --dry-run -Werror --style=file ${files}
  WORKING_DIRECTORY "${ROOT}" RESULT_VARIABLE rc ERROR_VARIABLE out OUTPUT_VARIABLE out)
if(NOT rc EQUAL 0)
  message("${out}")
  message(FATAL_ERROR "clang-format: files above need formatting; run clang-format -i on them")
endif()
list(LENGTH files count)
message("clang-format: ${count} files formatted")
