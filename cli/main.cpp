// wisp — SAM-compatible serverless toolkit. Unexpected failures are caught here, once.

#include "app.hpp"

#include <cstdio>
#include <exception>

int main(int argc, char** argv) {
  try {
    return wisp::cli::run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (...) {
    std::fprintf(stderr, "error: unexpected failure\n");
    return 1;
  }
}
