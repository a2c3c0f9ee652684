#include <wisp/console/coldstart.hpp>

#include <doctest/doctest.h>

#include <map>
#include <string>

using namespace wisp::console;

TEST_CASE("python -X importtime: the handler's imports after the marker, with depth") {
  const auto modules =
      parse_importtime("import time: self [us] | cumulative | imported package\n"
                       "import time:       300 |        300 | encodings\n" // interpreter start-up
                       "wisp-coldstart-marker\n"
                       "import time:      4385 |       4385 |         _json\n"
                       "import time:       652 |       5037 |       json.scanner\n"
                       "import time:      2701 |       9058 |   json\n"
                       "import time:     50210 |      59268 | app\n"
                       "wisp-coldstart-end\n"
                       "import time:       100 |        100 | after\n");
  REQUIRE(modules.size() == 4);
  CHECK(modules[0].name == "_json");
  CHECK(modules[0].depth == 4);
  CHECK(modules[0].self_ms == doctest::Approx(4.385));
  CHECK(modules[1].name == "json.scanner");
  CHECK(modules[1].package == "json");
  CHECK(modules[1].cumulative_ms == doctest::Approx(5.037));
  CHECK(modules[2].depth == 1);
  CHECK(modules[3].name == "app");
  CHECK(modules[3].depth == 0);
  CHECK(modules[3].self_ms == doctest::Approx(50.21));
}

TEST_CASE("node --cpu-prof: samples summed per file and package, within the load's window") {
  // Node 2 is app.js, 3 a package's file, 4 node internals, 5 the GC, 6 idle.
  const auto modules = parse_cpu_profile(R"json({
    "nodes": [
      {"id": 1, "callFrame": {"functionName": "(root)", "url": ""}},
      {"id": 2, "callFrame": {"functionName": "", "url": "file:///code/app.js"}},
      {"id": 3, "callFrame": {"functionName": "x", "url": "file:///code/node_modules/@aws-sdk/client-s3/dist/index.js"}},
      {"id": 4, "callFrame": {"functionName": "y", "url": "node:internal/modules/cjs/loader"}},
      {"id": 5, "callFrame": {"functionName": "(garbage collector)", "url": ""}},
      {"id": 6, "callFrame": {"functionName": "(idle)", "url": ""}}
    ],
    "startTime": 1000,
    "samples":    [4,   2,   3,   3,   5,   6,   2,   4],
    "timeDeltas": [100, 100, 200, 300, 400, 500, 600, 700]
  })json",
                                         "/code", 1150, 2700);
  // Sample times: 1100, 1200, 1400, 1700, 2100, 2600, 3200, 3900; each lasts until the next.
  // In [1150, 2700]: app.js at 1200 (200 µs), the package at 1400 (300) and 1700 (400), the GC
  // at 2100 (500), idle at 2600 (not counted).
  REQUIRE(modules.size() == 3);
  std::map<std::string, ModuleTime> by_name;
  for (const auto& m : modules)
    by_name[m.name] = m;
  CHECK(by_name["app.js"].self_ms == doctest::Approx(0.2));
  CHECK(by_name["app.js"].package.empty());
  const auto& sdk = by_name["node_modules/@aws-sdk/client-s3/dist/index.js"];
  CHECK(sdk.self_ms == doctest::Approx(0.7));
  CHECK(sdk.package == "@aws-sdk/client-s3");
  CHECK(by_name["(garbage collector)"].self_ms == doctest::Approx(0.5));
  CHECK(parse_cpu_profile("not json", "/code").empty());
}
