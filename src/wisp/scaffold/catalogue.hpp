#pragma once
// The scaffolds `wisp init` copies: one folder per scaffold under a templates directory, each
// with a manifest.toml and the project's files under files/:
//
//   app_template = "hello-world"         # --app-template value
//   summary = "..."                      # one line for prompts and docs
//   runtimes = ["python3.13", ...]       # the runtimes it serves
//   test_command = "python3 -m unittest" # runs the handler's test from the project dir
//   executables = ["hello-world/bootstrap"] # files under files/ written with mode 0755
//
// The templates directory is found next to the installed binary
// (<prefix>/share/wisp/templates beside <prefix>/bin/wisp), in the source tree when wisp runs
// from its build directory, or wherever $WISP_TEMPLATES_DIR points.

#include <wisp/support/error.hpp>

#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace wisp::scaffold {

namespace fs = std::filesystem;

struct Scaffold {
  std::string id;     // its folder's name
  fs::path directory; // the folder (holding manifest.toml and files/)
  std::string app_template;
  std::string summary;
  std::vector<std::string> runtimes;
  std::string test_command;
  std::vector<std::string> executables;
};

// The --app-template values wisp knows (manifests may use only these).
std::span<const std::string> app_template_names();
inline constexpr std::string_view k_default_app_template = "hello-world";

class Catalogue {
public:
  // Reads every <dir>/*/manifest.toml. A malformed manifest is an error with file:line:col.
  static support::Result<Catalogue> load(const fs::path& templates_dir);

  [[nodiscard]] const fs::path& directory() const { return m_directory; }
  [[nodiscard]] const std::vector<Scaffold>& scaffolds() const { return m_scaffolds; }
  // The app templates serving `runtime`, default first.
  [[nodiscard]] std::vector<std::string> app_templates_for(std::string_view runtime) const;
  [[nodiscard]] const Scaffold* find(std::string_view runtime, std::string_view app_template) const;

private:
  fs::path m_directory;
  std::vector<Scaffold> m_scaffolds; // ordered by id
};

// Where templates may be, in the order they are tried: $WISP_TEMPLATES_DIR (only that one
// when set); <executable dir>/../share/wisp/templates; the source tree's templates/ when the
// executable lies inside the build tree it was built in.
std::vector<fs::path> templates_dir_candidates();

// The first candidate that is a directory, or an error listing where wisp looked.
support::Result<fs::path> find_templates_dir();

} // namespace wisp::scaffold
