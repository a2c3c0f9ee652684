// wisp_manpage OUT: writes wisp(1) for the build (packaging/ installs it). Not installed.

#include "app.hpp"

#include <wisp/support/fs.hpp>

#include <cstdio>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: wisp_manpage OUT\n");
    return 2;
  }
  if (auto written = wisp::support::write_file_atomic(argv[1], wisp::cli::man_page()); !written) {
    std::fprintf(stderr, "error: %s\n", written.error().message.c_str());
    return 1;
  }
  return 0;
}
