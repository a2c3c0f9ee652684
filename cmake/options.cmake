# Compiler options shared by every wisp target, as INTERFACE targets.

add_library(wisp_options INTERFACE)
add_library(wisp::options ALIAS wisp_options)
target_compile_features(wisp_options INTERFACE cxx_std_20)

add_library(wisp_warnings INTERFACE)
add_library(wisp::warnings ALIAS wisp_warnings)
if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  target_compile_options(wisp_warnings INTERFACE
    -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
    -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Woverloaded-virtual
    -Wnull-dereference -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough)
  if(WISP_WARNINGS_AS_ERRORS)
    target_compile_options(wisp_warnings INTERFACE -Werror)
  endif()
endif()

if(WISP_SANITIZE)
  target_compile_options(wisp_options INTERFACE
    -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(wisp_options INTERFACE -fsanitize=address,undefined)
endif()

# Third-party headers are included as SYSTEM so their warnings do not count as ours.
set(CMAKE_NO_SYSTEM_FROM_IMPORTED OFF)

# ccache when available (its cache lives outside the repo, in ~/.cache/ccache by default).
if(NOT CMAKE_CXX_COMPILER_LAUNCHER)
  find_program(WISP_CCACHE ccache)
  if(WISP_CCACHE)
    set(CMAKE_CXX_COMPILER_LAUNCHER "${WISP_CCACHE}" CACHE STRING "" FORCE)
  endif()
endif()

# Packed relative relocations (DT_RELR) where the toolchain and C library support them: the
# dynamic loader's work at every `wisp` start drops by about a quarter (measured with
# `perf stat wisp --version`; `local invoke`'s cold start pays it on every run).
include(CheckLinkerFlag)
check_linker_flag(CXX "-Wl,-z,pack-relative-relocs" WISP_HAVE_PACK_RELATIVE_RELOCS)
if(WISP_HAVE_PACK_RELATIVE_RELOCS)
  target_link_options(wisp_options INTERFACE "-Wl,-z,pack-relative-relocs")
endif()
