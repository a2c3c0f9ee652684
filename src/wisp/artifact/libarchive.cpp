#include <wisp/artifact/libarchive.hpp>

#include <fmt/format.h>

#include <dlfcn.h>
#include <stdexcept>

namespace wisp::artifact::la {

namespace {

template <typename F> void resolve(void* library, const char* name, F& target) {
  void* symbol = ::dlsym(library, name);
  if (symbol == nullptr)
    throw std::runtime_error(fmt::format("libarchive.so.13 lacks {}", name));
  target = reinterpret_cast<F>(symbol); // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast)
}

Api load() {
  void* library = ::dlopen("libarchive.so.13", RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr)
    throw std::runtime_error(fmt::format(
        "cannot load libarchive ({}); install it (Debian: apt-get install libarchive13)",
        ::dlerror()));
  Api api;
#define WISP_LIBARCHIVE_RESOLVE(name) resolve(library, #name, api.name);
  WISP_LIBARCHIVE_FUNCTIONS(WISP_LIBARCHIVE_RESOLVE)
#undef WISP_LIBARCHIVE_RESOLVE
  return api; // the library stays loaded for the life of the process
}

} // namespace

const Api& api() {
  static const Api loaded = load();
  return loaded;
}

} // namespace wisp::artifact::la
