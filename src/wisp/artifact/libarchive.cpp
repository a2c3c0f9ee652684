#include <wisp/artifact/libarchive.hpp>

#include <wisp/support/shared_library.hpp>

namespace wisp::artifact::la {

namespace {

Api load() {
  const support::SharedLibrary library("libarchive.so.13", "libarchive13");
  Api api;
#define WISP_LIBARCHIVE_RESOLVE(name) library.resolve(#name, api.name);
  WISP_LIBARCHIVE_FUNCTIONS(WISP_LIBARCHIVE_RESOLVE)
#undef WISP_LIBARCHIVE_RESOLVE
  return api;
}

} // namespace

const Api& api() {
  static const Api loaded = load();
  return loaded;
}

} // namespace wisp::artifact::la
