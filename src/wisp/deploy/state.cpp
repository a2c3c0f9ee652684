#include <wisp/deploy/state.hpp>

#include <wisp/aws/config.hpp>
#include <wisp/aws/s3.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <ctime>
#include <random>
#include <unistd.h>

namespace wisp::deploy {

namespace json = boost::json;

namespace {

constexpr int k_format = 1;
constexpr std::size_t k_history_max = 100;

std::string text(const json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? std::string(value->as_string()) : std::string();
}

const json::object& object_at(const json::object& object, std::string_view key) {
  static const json::object k_empty;
  const auto* value = object.if_contains(key);
  return value != nullptr && value->is_object() ? value->as_object() : k_empty;
}

std::map<std::string, std::string> string_map(const json::object& object) {
  std::map<std::string, std::string> out;
  for (const auto& item : object)
    if (item.value().is_string())
      out[std::string(item.key())] = std::string(item.value().as_string());
  return out;
}

json::object from_map(const std::map<std::string, std::string>& values) {
  json::object out;
  for (const auto& [key, value] : values)
    out[key] = value;
  return out;
}

json::array strings_json(const std::vector<std::string>& values) {
  json::array out;
  for (const auto& v : values)
    out.emplace_back(v);
  return out;
}

std::vector<std::string> strings_of(const json::object& object, std::string_view key) {
  std::vector<std::string> out;
  if (const auto* list = object.if_contains(key); list != nullptr && list->is_array())
    for (const auto& item : list->as_array())
      if (item.is_string())
        out.emplace_back(item.as_string());
  return out;
}

json::object api_json(const ApiRecord& api) {
  return {{"id", api.id},
          {"kind", api.kind},
          {"stage", api.stage},
          {"deployment_id", api.deployment_id},
          {"url", api.url}};
}

ApiRecord api_from(const json::object& o) {
  return {text(o, "id"), text(o, "kind"), text(o, "stage"), text(o, "deployment_id"),
          text(o, "url")};
}

support::Status check_format(const json::value& value, std::string_view what) {
  if (!value.is_object())
    return support::failf("{} is not a JSON object", what);
  const auto* format = value.as_object().if_contains("format");
  if (format == nullptr || !format->is_int64())
    return support::failf("{} has no format number", what);
  if (format->as_int64() > k_format)
    return support::failf("{} was written by a newer wisp (format {}); upgrade wisp", what,
                          format->as_int64());
  return {};
}

} // namespace

std::string format_iso8601(std::chrono::system_clock::time_point when) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(when);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

std::string now_iso8601() {
  return format_iso8601(std::chrono::system_clock::now());
}

json::object StageState::to_json() const {
  json::object functions_json;
  for (const auto& [id, f] : functions)
    functions_json[id] = json::object{{"name", f.name},
                                      {"alias", f.alias},
                                      {"version", f.version},
                                      {"previous_version", f.previous_version},
                                      {"code_sha256", f.code_sha256},
                                      {"config_digest", f.config_digest},
                                      {"deployment_preference", f.deployment_preference},
                                      {"permissions", strings_json(f.permissions)}};
  json::object apis_json;
  for (const auto& [id, api] : apis)
    apis_json[id] = api_json(api);
  json::object shift_json;
  for (const auto& [id, s] : shift)
    shift_json[id] =
        json::object{{"from", s.from}, {"to", s.to}, {"weight", s.weight}, {"type", s.type}};
  json::array history_json;
  for (const auto& h : history)
    history_json.push_back(json::object{{"id", h.id},
                                        {"time", h.time},
                                        {"status", h.status},
                                        {"git_commit", h.git_commit},
                                        {"message", h.message},
                                        {"versions", from_map(h.versions)}});
  return {{"format", k_format},
          {"stack", stack},
          {"stage", stage},
          {"region", region},
          {"status", status},
          {"updated", updated},
          {"git_commit", git_commit},
          {"functions", std::move(functions_json)},
          {"apis", std::move(apis_json)},
          {"shift", std::move(shift_json)},
          {"history", std::move(history_json)}};
}

support::Result<StageState> StageState::from_json(const json::value& value) {
  WISP_TRY(check_format(value, "the stage state"));
  const auto& o = value.as_object();
  StageState state;
  state.stack = text(o, "stack");
  state.stage = text(o, "stage");
  state.region = text(o, "region");
  state.status = text(o, "status");
  state.updated = text(o, "updated");
  state.git_commit = text(o, "git_commit");
  for (const auto& item : object_at(o, "functions")) {
    if (!item.value().is_object())
      continue;
    const auto& f = item.value().as_object();
    state.functions[std::string(item.key())] = FunctionRecord{text(f, "name"),
                                                              text(f, "alias"),
                                                              text(f, "version"),
                                                              text(f, "previous_version"),
                                                              text(f, "code_sha256"),
                                                              text(f, "config_digest"),
                                                              text(f, "deployment_preference"),
                                                              {}};
    state.functions[std::string(item.key())].permissions = strings_of(f, "permissions");
  }
  for (const auto& item : object_at(o, "apis"))
    if (item.value().is_object())
      state.apis[std::string(item.key())] = api_from(item.value().as_object());
  for (const auto& item : object_at(o, "shift")) {
    if (!item.value().is_object())
      continue;
    const auto& s = item.value().as_object();
    ShiftRecord record{text(s, "from"), text(s, "to"), 0.0, text(s, "type")};
    if (const auto* weight = s.if_contains("weight"); weight != nullptr && weight->is_number())
      record.weight = weight->to_number<double>();
    state.shift[std::string(item.key())] = record;
  }
  if (const auto* history = o.if_contains("history"); history != nullptr && history->is_array()) {
    for (const auto& entry : history->as_array()) {
      if (!entry.is_object())
        continue;
      const auto& h = entry.as_object();
      HistoryEntry item;
      if (const auto* id = h.if_contains("id"); id != nullptr && id->is_int64())
        item.id = static_cast<int>(id->as_int64());
      item.time = text(h, "time");
      item.status = text(h, "status");
      item.git_commit = text(h, "git_commit");
      item.message = text(h, "message");
      item.versions = string_map(object_at(h, "versions"));
      state.history.push_back(std::move(item));
    }
  }
  return state;
}

json::object AppState::to_json() const {
  json::object roles_json;
  for (const auto& [id, r] : roles)
    roles_json[id] = json::object{{"name", r.name}, {"arn", r.arn}, {"digest", r.digest}};
  json::object apis_json;
  for (const auto& [id, api] : apis)
    apis_json[id] = json::object{{"id", api.id}, {"kind", api.kind}};
  json::array stages_json;
  for (const auto& s : stages)
    stages_json.emplace_back(s);
  json::array artifacts_json;
  for (const auto& a : artifacts)
    artifacts_json.emplace_back(a);
  return {{"format", k_format},
          {"stack", stack},
          {"region", region},
          {"functions", from_map(functions)},
          {"roles", std::move(roles_json)},
          {"apis", std::move(apis_json)},
          {"alarms", from_map(alarms)},
          {"layers", from_map(layers)},
          {"stages", std::move(stages_json)},
          {"artifacts", std::move(artifacts_json)}};
}

support::Result<AppState> AppState::from_json(const json::value& value) {
  WISP_TRY(check_format(value, "the app state"));
  const auto& o = value.as_object();
  AppState state;
  state.stack = text(o, "stack");
  state.region = text(o, "region");
  state.functions = string_map(object_at(o, "functions"));
  for (const auto& item : object_at(o, "roles")) {
    if (!item.value().is_object())
      continue;
    const auto& r = item.value().as_object();
    state.roles[std::string(item.key())] = {text(r, "name"), text(r, "arn"), text(r, "digest")};
  }
  for (const auto& item : object_at(o, "apis"))
    if (item.value().is_object())
      state.apis[std::string(item.key())] = api_from(item.value().as_object());
  state.alarms = string_map(object_at(o, "alarms"));
  state.layers = string_map(object_at(o, "layers"));
  for (const char* key : {"stages", "artifacts"}) {
    auto& target = std::string_view(key) == "stages" ? state.stages : state.artifacts;
    if (const auto* list = o.if_contains(key); list != nullptr && list->is_array())
      for (const auto& item : list->as_array())
        if (item.is_string())
          target.emplace_back(item.as_string());
  }
  return state;
}

std::string Location::key(std::string_view relative) const {
  return prefix.empty() ? std::string(relative) : prefix + "/" + std::string(relative);
}
std::string Location::artifact_key(std::string_view sha256_hex) const {
  return key(fmt::format("{}.zip", sha256_hex)); // the layout of `wisp package`
}
std::string Location::stage_state_key(std::string_view stage) const {
  return key(fmt::format("state/stages/{}.json", stage));
}
std::string Location::app_state_key() const {
  return key("state/app.json");
}
std::string Location::stage_lock_key(std::string_view stage) const {
  return key(fmt::format("locks/stages/{}.json", stage));
}
std::string Location::app_lock_key() const {
  return key("locks/app.json");
}

namespace {

template <class T>
support::Result<std::optional<Versioned<T>>>
load_object(const aws::Client& client, const std::string& bucket, const std::string& key) {
  auto object = aws::s3::get_object(client, bucket, key);
  if (!object) {
    if (object.error().is("NoSuchBucket"))
      return std::optional<Versioned<T>>();
    return tl::unexpected<support::Error>(object.error());
  }
  if (!*object)
    return std::optional<Versioned<T>>();
  boost::system::error_code ec;
  const auto value = json::parse((*object)->body, ec);
  if (ec)
    return support::failf("s3://{}/{} is not valid JSON: {}", bucket, key, ec.message());
  auto parsed = T::from_json(value);
  if (!parsed)
    return support::failf("s3://{}/{}: {}", bucket, key, parsed.error().message);
  return std::optional<Versioned<T>>(Versioned<T>{std::move(*parsed), (*object)->info.etag});
}

support::Result<std::string> save_object(const aws::Client& client, const std::string& bucket,
                                         const std::string& key, const json::object& value,
                                         const std::string& etag) {
  aws::s3::PutOptions options;
  options.content_type = "application/json";
  if (etag.empty())
    options.if_none_match = true;
  else
    options.if_match = etag;
  const auto body = json::serialize(value) + "\n";
  auto written = aws::s3::put_object(client, bucket, key, body, options);
  if (!written) {
    if (written.error().is("PreconditionFailed") || written.error().status == 412) {
      // A retried write whose first attempt succeeded meets its own result: that is success.
      // Not only when the client retried: libcurl itself resends a request once when the
      // kept-alive connection it went out on turns out closed, answer unseen.
      auto current = aws::s3::get_object(client, bucket, key);
      if (current && *current && (*current)->body == body)
        return (*current)->info.etag;
    }
    if (written.error().is("PreconditionFailed") || written.error().status == 412)
      return support::failf("s3://{}/{} was changed by someone else meanwhile; run the command "
                            "again",
                            bucket, key);
    return tl::unexpected<support::Error>(written.error());
  }
  return *written;
}

} // namespace

support::Result<std::optional<Versioned<StageState>>>
load_stage_state(const aws::Client& client, const Location& location, std::string_view stage) {
  return load_object<StageState>(client, location.bucket, location.stage_state_key(stage));
}

support::Result<std::optional<Versioned<AppState>>> load_app_state(const aws::Client& client,
                                                                   const Location& location) {
  return load_object<AppState>(client, location.bucket, location.app_state_key());
}

support::Result<std::string> save_stage_state(const aws::Client& client, const Location& location,
                                              const StageState& state, const std::string& etag) {
  StageState trimmed = state;
  if (trimmed.history.size() > k_history_max)
    trimmed.history.erase(trimmed.history.begin(),
                          trimmed.history.end() - static_cast<std::ptrdiff_t>(k_history_max));
  return save_object(client, location.bucket, location.stage_state_key(state.stage),
                     trimmed.to_json(), etag);
}

support::Result<std::string> save_app_state(const aws::Client& client, const Location& location,
                                            const AppState& state, const std::string& etag) {
  return save_object(client, location.bucket, location.app_state_key(), state.to_json(), etag);
}

// --- locks ---

bool LockInfo::stale(std::chrono::system_clock::time_point now) const {
  const auto renewed_at = aws::parse_iso8601(renewed.empty() ? created : renewed);
  if (!renewed_at)
    return true;
  return *renewed_at + std::chrono::seconds(lease_seconds) < now;
}

namespace {

json::object lock_json(const LockInfo& info) {
  return {{"id", info.id},           {"owner", info.owner},
          {"command", info.command}, {"created", info.created},
          {"renewed", info.renewed}, {"lease_seconds", info.lease_seconds}};
}

std::optional<LockInfo> lock_from(std::string_view body) {
  boost::system::error_code ec;
  const auto value = json::parse(body, ec);
  if (ec || !value.is_object())
    return std::nullopt;
  const auto& o = value.as_object();
  LockInfo info{text(o, "id"), text(o, "owner"), text(o, "command"), text(o, "created"),
                text(o, "renewed")};
  if (const auto* lease = o.if_contains("lease_seconds"); lease != nullptr && lease->is_int64())
    info.lease_seconds = lease->as_int64();
  return info;
}

std::string owner_description() {
  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  const char* user = std::getenv("USER");
  return fmt::format("{}@{} (pid {})", user != nullptr ? user : "unknown", host,
                     static_cast<long>(::getpid()));
}

std::string random_id() {
  std::random_device random;
  return fmt::format("{:08x}{:08x}", random(), random());
}

} // namespace

support::Result<std::unique_ptr<Lock>> Lock::acquire(std::shared_ptr<const aws::Client> client,
                                                     std::string bucket, std::string key,
                                                     std::string what, const Options& options) {
  std::unique_ptr<Lock> lock(new Lock());
  lock->m_client = std::move(client);
  lock->m_bucket = std::move(bucket);
  lock->m_key = std::move(key);
  lock->m_lease = options.lease;
  lock->m_renew_every = options.renew_every;
  const auto now = now_iso8601();
  lock->m_info = LockInfo{random_id(),
                          owner_description(),
                          options.command,
                          now,
                          now,
                          static_cast<long long>(options.lease.count())};
  const auto& client_ref = *lock->m_client;

  for (int attempt = 0; attempt < 3; ++attempt) {
    aws::s3::PutOptions put;
    put.content_type = "application/json";
    put.if_none_match = true;
    auto created = aws::s3::put_object(client_ref, lock->m_bucket, lock->m_key,
                                       json::serialize(lock_json(lock->m_info)), put);
    if (created) {
      lock->m_etag = *created;
      lock->m_renewer = std::thread([raw = lock.get()] { raw->renew_loop(); });
      return lock;
    }
    if (!created.error().is("PreconditionFailed") && created.error().status != 412)
      return tl::unexpected<support::Error>(created.error());
    // Someone holds it: stale or explicitly broken locks are taken over.
    auto existing = aws::s3::get_object(client_ref, lock->m_bucket, lock->m_key);
    if (!existing)
      return tl::unexpected<support::Error>(existing.error());
    if (!*existing)
      continue; // released meanwhile
    const auto holder = lock_from((*existing)->body);
    if (holder && holder->id == lock->m_info.id) {
      // Our own lock: a retried create whose first attempt had succeeded.
      lock->m_etag = (*existing)->info.etag;
      lock->m_renewer = std::thread([raw = lock.get()] { raw->renew_loop(); });
      return lock;
    }
    const bool stale = !holder || holder->stale(std::chrono::system_clock::now());
    if (!stale && !options.break_lock) {
      return support::failf("{} is locked by {} ({}, since {}); wait for it to finish, or pass "
                            "--break-lock if it died",
                            what, holder->owner, holder->command, holder->created);
    }
    auto removed =
        aws::s3::delete_object(client_ref, lock->m_bucket, lock->m_key, (*existing)->info.etag);
    if (!removed && !removed.error().is("PreconditionFailed") && removed.error().status != 412)
      return tl::unexpected<support::Error>(removed.error());
  }
  return support::failf("{} is locked and could not be taken over; try again", what);
}

void Lock::renew_loop() {
  std::unique_lock guard(m_mutex);
  while (!m_stop) {
    m_wake.wait_for(guard, m_renew_every, [this] { return m_stop; });
    if (m_stop)
      break;
    m_info.renewed = now_iso8601();
    aws::s3::PutOptions put;
    put.content_type = "application/json";
    put.if_match = m_etag;
    const auto body = json::serialize(lock_json(m_info));
    guard.unlock();
    auto renewed = aws::s3::put_object(*m_client, m_bucket, m_key, body, put);
    guard.lock();
    if (renewed) {
      m_etag = *renewed;
    } else if (renewed.error().is("PreconditionFailed") || renewed.error().status == 412) {
      guard.unlock();
      auto current = aws::s3::get_object(*m_client, m_bucket, m_key);
      guard.lock();
      if (current && *current && (*current)->body == body) {
        m_etag = (*current)->info.etag; // our retried (or resent) write had landed
        continue;
      }
      m_lost = true;
      break;
    }
    // Other failures: try again at the next renewal; the lease is four renewals long.
  }
}

support::Status Lock::release() {
  {
    std::lock_guard guard(m_mutex);
    if (m_released)
      return {};
    m_released = true;
    m_stop = true;
  }
  m_wake.notify_all();
  if (m_renewer.joinable())
    m_renewer.join();
  if (m_lost)
    return support::failf("the lock s3://{}/{} was broken by someone else while held", m_bucket,
                          m_key);
  auto removed = aws::s3::delete_object(*m_client, m_bucket, m_key, m_etag);
  if (!removed && !removed.error().is("PreconditionFailed") && removed.error().status != 412)
    return tl::unexpected<support::Error>(removed.error());
  return {};
}

Lock::~Lock() {
  [[maybe_unused]] auto ignored = release();
}

} // namespace wisp::deploy
