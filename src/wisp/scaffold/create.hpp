#pragma once
// Creating a project from a scaffold. All or nothing: the files are written into a hidden
// staging directory beside the target and renamed into place only when complete; an existing
// target (file or directory, even empty) is never touched.

#include <wisp/scaffold/catalogue.hpp>

#include <string>
#include <vector>

namespace wisp::scaffold {

struct Request {
  std::string name;          // validated with validate_name()
  std::string runtime;       // one the chosen scaffold serves
  std::string app_template;  // empty: hello-world
  fs::path output_dir = "."; // created when missing
};

struct Project {
  fs::path directory;             // output_dir/name
  std::vector<std::string> files; // relative to `directory`, sorted
  std::string runtime;
  std::string app_template;
  std::string stack_name;
  std::string test_command;
};

// Placeholders replaced in every scaffold file: {{name}}, {{runtime}}, {{stack_name}},
// {{app_template}}. Any other {{word}} is an error naming the template file, line and column.
support::Result<Project> create(const Catalogue& catalogue, const Request& request);

} // namespace wisp::scaffold
