#pragma once
// Reaching the wisp that runs an execution. Every wisp that serves the durable API publishes
// its URL in <store>/servers/<pid>.json (held with a flock while it lives); an execution
// records the URL of the wisp running it (Execution::owner). A request for an execution another
// live wisp runs is forwarded there; one for an execution nobody runs is applied to the store
// directly (the next wisp that resumes it sees the change).

#include <wisp/durable/types.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wisp::durable {

struct HttpRequest;
struct HttpResponse;

// This process's entry in <store>/servers/: written (and locked) by publish, removed on
// destruction. Entries whose owner died are ignored and cleaned up by live_servers().
class ServerRecord {
public:
  ServerRecord() = default;
  ~ServerRecord();
  ServerRecord(const ServerRecord&) = delete;
  ServerRecord& operator=(const ServerRecord&) = delete;
  bool publish(const std::filesystem::path& store_root, const std::string& url);

private:
  int m_fd = -1;
  std::filesystem::path m_path;
};

// URLs of the live wisps serving the durable API for this store.
std::vector<std::string> live_servers(const std::filesystem::path& store_root);

// Sends a durable API request to the wisp at `url`; nullopt when it cannot be reached.
// Forwarded requests carry a marker so they are never forwarded again.
std::optional<HttpResponse> forward(std::string_view url, const HttpRequest& request);
[[nodiscard]] bool is_forwarded(std::string_view raw_query);

// The execution ARN inside a CallbackId minted by wisp; nullopt for anything else.
std::optional<std::string> callback_execution(std::string_view callback_id);

} // namespace wisp::durable
