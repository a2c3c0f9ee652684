#pragma once
// Internal to the gateway: a local certificate authority, so that functions reach wisp's
// WebSocket management endpoint (`@connections`) at `https://<domainName>/<stage>` — the URL
// they build from a WebSocket event — over TLS they trust (docs/local-api.md, "Reaching
// @connections from a function").
//
// The CA (an EC P-256 key and a self-signed certificate, ten years) is made once and kept in
// `<dir>/ca.pem` + `ca.key` (0600); each server gets a fresh certificate signed by it for
// localhost, 127.0.0.1, ::1 and the listening address. `bundle.pem` holds the system's trusted
// CAs followed by wisp's (for AWS_CA_BUNDLE, which replaces botocore's trust store;
// NODE_EXTRA_CA_CERTS adds ca.pem to Node's). The CA is trusted by the functions wisp runs
// only, never system-wide.

#include <wisp/support/error.hpp>

#include <filesystem>
#include <string>

namespace wisp::gateway {

struct LocalTls {
  std::filesystem::path ca_file;     // PEM certificate of wisp's local CA
  std::filesystem::path bundle_file; // the system's CAs and wisp's
  std::string cert_pem;              // this server's certificate (then the CA's)
  std::string key_pem;               // its private key
};

// Loads (or makes, under a lock, once) the CA in `dir` and issues a server certificate for
// `host` as well as localhost, 127.0.0.1 and ::1.
support::Result<LocalTls> prepare_local_tls(const std::filesystem::path& dir,
                                            const std::string& host);

} // namespace wisp::gateway
