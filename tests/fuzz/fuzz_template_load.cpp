// libFuzzer target: template loading and resolution (YAML/JSON reader, intrinsics,
// Globals, model building, every check) on arbitrary bytes. Any crash, hang, leak or
// sanitizer report is a bug: bad input must only ever produce diagnostics.
//
// Build: cmake --preset fuzz && cmake --build --preset fuzz --target fuzz_template_load
// Run:   build/fuzz/tests/fuzz/fuzz_template_load tests/fuzz/corpus/template_load \
//            tests/fixtures/templates/valid tests/fixtures/templates/invalid

#include <wisp/template/load.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  wisp::sam::LoadOptions options;
  // The first byte picks how the text is named: a .json name makes JSON strict.
  const bool json = size > 0 && (data[0] & 1u) != 0;
  options.template_path =
      json ? "/nonexistent/fuzz/template.json" : "/nonexistent/fuzz/template.yaml";
  options.template_text = std::string(reinterpret_cast<const char*>(data), size);
  options.parameter_overrides = {"Stage=prod Env=dev"};
  options.today = "2026-11-23";
  const auto result = wisp::sam::load(options);
  // Touch the results so nothing is optimised away.
  std::size_t total = result.diagnostics.size() + result.model.functions.size() +
                      result.model.routes.size() + result.model.resources.size();
  return total == static_cast<std::size_t>(-1) ? 1 : 0;
}
