#pragma once
// A shared library loaded on first use (dlopen) rather than linked, so that a command which
// does not need it does not pay for loading it and its dependencies at start (libcurl and
// libarchive, see docs/design.md). The library stays loaded for the life of the process.
// A library or function that cannot be found is an installation problem: std::runtime_error,
// naming the Debian package to install.

namespace wisp::support {

class SharedLibrary {
public:
  // dlopen(`soname`, RTLD_NOW | RTLD_LOCAL); `package` is named when it cannot be loaded.
  SharedLibrary(const char* soname, const char* package);

  // Sets `target` to the library's function `name`; F is its pointer type, e.g.
  // decltype(&::curl_easy_init), so calls through it stay type-checked.
  template <typename F> void resolve(const char* name, F& target) const {
    target =
        reinterpret_cast<F>(symbol(name)); // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast)
  }

private:
  [[nodiscard]] void* symbol(const char* name) const;

  void* m_handle;
  const char* m_soname;
};

} // namespace wisp::support
