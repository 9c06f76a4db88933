// The physical floor for reading a tfstate: load the file and run simdjson's full DOM parse
// (every byte validated, every value materialised in simdjson's tape), nothing else.
// Built by bench/run.sh against Debian's libsimdjson-dev:
//   g++ -O2 -std=c++17 bench/simdjson_floor.cpp -lsimdjson -o simdjson_floor
// Prints {"bytes":N,"parse_seconds":S,"elements":E} so run.sh can cross-check its own timing.
#include <chrono>
#include <cstdio>

#include <simdjson.h>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: simdjson_floor FILE.json\n");
    return 2;
  }
  auto t0 = std::chrono::steady_clock::now();
  simdjson::padded_string text;
  if (auto err = simdjson::padded_string::load(argv[1]).get(text)) {
    std::fprintf(stderr, "simdjson_floor: %s: %s\n", argv[1], simdjson::error_message(err));
    return 1;
  }
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto err = parser.parse(text).get(doc)) {
    std::fprintf(stderr, "simdjson_floor: %s: %s\n", argv[1], simdjson::error_message(err));
    return 1;
  }
  // Touch the top level so the parse cannot be elided; count resource blocks.
  size_t elements = 0;
  simdjson::dom::array resources;
  if (!doc["resources"].get(resources)) elements = resources.size();
  auto t1 = std::chrono::steady_clock::now();
  std::printf("{\"bytes\":%zu,\"parse_seconds\":%.6f,\"elements\":%zu}\n", text.size(),
              std::chrono::duration<double>(t1 - t0).count(), elements);
  return 0;
}
