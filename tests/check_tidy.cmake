# Runs clang-tidy (the root .clang-tidy, warnings are errors) over the .cpp files of one
# source directory, with the build's compile_commands.json.
# Run: cmake -DCLANG_TIDY=... -DBUILD_DIR=... -DDIR=... -P this.
if(NOT CLANG_TIDY)
  message("PEER MISSING: clang-tidy not found (packaging/install-deps.sh --with-peers)")
  return()
endif()
file(GLOB files "${DIR}/*.cpp")
list(SORT files)
set(failed "")
foreach(file IN LISTS files)
  execute_process(COMMAND "${CLANG_TIDY}" -p "${BUILD_DIR}" --quiet
                          --extra-arg=-Wno-unknown-warning-option "${file}"
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message("${out}")
    list(APPEND failed "${file}")
  endif()
endforeach()
if(failed)
  message(FATAL_ERROR "clang-tidy found problems in: ${failed}")
endif()
list(LENGTH files count)
message("clang-tidy: ${count} files clean in ${DIR}")
