#include <wisp/support/shared_library.hpp>

#include <fmt/format.h>

#include <dlfcn.h>
#include <stdexcept>

namespace wisp::support {

SharedLibrary::SharedLibrary(const char* soname, const char* package)
    : m_handle(::dlopen(soname, RTLD_NOW | RTLD_LOCAL)), m_soname(soname) {
  if (m_handle == nullptr)
    throw std::runtime_error(fmt::format("cannot load {} ({}); install it (Debian: apt-get "
                                         "install {})",
                                         soname, ::dlerror(), package));
}

void* SharedLibrary::symbol(const char* name) const {
  void* found = ::dlsym(m_handle, name);
  if (found == nullptr)
    throw std::runtime_error(fmt::format("{} lacks {}", m_soname, name));
  return found;
}

} // namespace wisp::support
