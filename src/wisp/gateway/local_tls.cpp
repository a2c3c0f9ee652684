// The local certificate authority (local_tls.hpp), with OpenSSL's X509 API.

#include <wisp/gateway/local_tls.hpp>
#include <wisp/support/fs.hpp>

#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <sys/file.h>
#include <system_error>
#include <unistd.h>

namespace wisp::gateway {

namespace fs = std::filesystem;

namespace {

struct Free {
  void operator()(X509* x) const { X509_free(x); }
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
  void operator()(BIO* b) const { BIO_free(b); }
  void operator()(BIGNUM* n) const { BN_free(n); }
};
using X509Ptr = std::unique_ptr<X509, Free>;
using KeyPtr = std::unique_ptr<EVP_PKEY, Free>;
using BioPtr = std::unique_ptr<BIO, Free>;
using BnPtr = std::unique_ptr<BIGNUM, Free>;

constexpr long k_day = 24L * 3600;

bool add_extension(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str());
  if (ext == nullptr)
    return false;
  const bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

// A certificate for `key` named `common_name`, signed by `issuer`/`issuer_key` (itself when
// null), valid from an hour ago for `days`, with `extensions` (nid, value) after the key ids.
X509Ptr make_certificate(EVP_PKEY* key, const char* common_name, X509* issuer, EVP_PKEY* issuer_key,
                         long days, const std::vector<std::pair<int, std::string>>& extensions) {
  X509Ptr cert(X509_new());
  BnPtr serial(BN_new());
  if (!cert || !serial || X509_set_version(cert.get(), 2) != 1 ||
      BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr)
    return nullptr;
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), days * k_day);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("wisp (local)"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name), -1, -1, 0);
  X509* signer = issuer != nullptr ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, signer, cert.get(), nullptr, nullptr, 0);
  if (!add_extension(cert.get(), &ctx, NID_subject_key_identifier, "hash") ||
      !add_extension(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always"))
    return nullptr;
  for (const auto& [nid, value] : extensions)
    if (!add_extension(cert.get(), &ctx, nid, value))
      return nullptr;
  if (X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()) <= 0)
    return nullptr;
  return cert;
}

std::string pem_of(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

std::string pem_of(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

X509Ptr read_certificate(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

KeyPtr read_key(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return KeyPtr(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

// The system's trusted CAs (OpenSSL's default file, else the usual distribution paths).
std::string system_ca_bundle() {
  const char* from_env = std::getenv(X509_get_default_cert_file_env());
  for (const char* path :
       {from_env, X509_get_default_cert_file(), "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"}) {
    if (path == nullptr)
      continue;
    if (auto content = support::read_file(path, 16u * 1024 * 1024); content && !content->empty())
      return *content;
  }
  return {};
}

bool looks_like_ip(const std::string& host) {
  return !host.empty() && host.find_first_not_of("0123456789.:abcdefABCDEF") == std::string::npos &&
         (host.find('.') != std::string::npos || host.find(':') != std::string::npos);
}

} // namespace

support::Result<LocalTls> prepare_local_tls(const fs::path& dir, const std::string& host) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return support::failf("cannot create {}: {}", dir.string(), ec.message());
  // One wisp at a time makes or reads the CA: two servers started together share one.
  const auto lock_path = dir / ".lock";
  const int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0)
    return support::failf("cannot open {}: {}", lock_path.string(), std::strerror(errno));
  struct Unlock {
    int fd;
    ~Unlock() { ::close(fd); } // releases the flock
  } unlock{lock_fd};
  ::flock(lock_fd, LOCK_EX);

  LocalTls tls;
  tls.ca_file = dir / "ca.pem";
  tls.bundle_file = dir / "bundle.pem";
  const auto key_file = dir / "ca.key";
  X509Ptr ca;
  KeyPtr ca_key;
  if (auto cert_pem = support::read_file(tls.ca_file, 1u << 20)) {
    if (auto key_pem = support::read_file(key_file, 1u << 20)) {
      ca = read_certificate(*cert_pem);
      ca_key = read_key(*key_pem);
      // Renewed a month before it expires.
      if (ca && X509_cmp_time(X509_get0_notAfter(ca.get()), nullptr) > 0) {
        time_t soon = std::time(nullptr) + 30 * k_day;
        if (X509_cmp_time(X509_get0_notAfter(ca.get()), &soon) < 0)
          ca.reset();
      } else {
        ca.reset();
      }
      if (ca && ca_key && X509_check_private_key(ca.get(), ca_key.get()) != 1)
        ca.reset();
    }
  }
  if (!ca || !ca_key) {
    ca_key.reset(EVP_EC_gen("P-256"));
    if (!ca_key)
      return support::fail("cannot make a key for wisp's local CA (OpenSSL)");
    ca = make_certificate(ca_key.get(), "wisp local CA", nullptr, nullptr, 3650,
                          {{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                           {NID_key_usage, "critical,keyCertSign,cRLSign"}});
    if (!ca)
      return support::fail("cannot make wisp's local CA certificate (OpenSSL)");
    WISP_TRY(support::write_file_atomic(key_file, pem_of(ca_key.get()), 0600));
    WISP_TRY(support::write_file_atomic(tls.ca_file, pem_of(ca.get()), 0644));
  }
  const auto ca_pem = pem_of(ca.get());
  auto bundle = system_ca_bundle();
  if (!bundle.empty() && bundle.back() != '\n')
    bundle.push_back('\n');
  bundle += ca_pem;
  const auto existing = support::read_file(tls.bundle_file, 32u * 1024 * 1024);
  if (!existing || *existing != bundle)
    WISP_TRY(support::write_file_atomic(tls.bundle_file, bundle, 0644));

  // This server's certificate.
  KeyPtr key(EVP_EC_gen("P-256"));
  std::string names = "DNS:localhost,IP:127.0.0.1,IP:::1";
  if (!host.empty() && host != "localhost" && host != "127.0.0.1" && host != "::1" &&
      host != "0.0.0.0" && host != "::")
    names += (looks_like_ip(host) ? ",IP:" : ",DNS:") + host;
  X509Ptr cert = key ? make_certificate(key.get(), "localhost", ca.get(), ca_key.get(), 365,
                                        {{NID_basic_constraints, "critical,CA:FALSE"},
                                         {NID_key_usage, "critical,digitalSignature,keyAgreement"},
                                         {NID_ext_key_usage, "serverAuth"},
                                         {NID_subject_alt_name, names}})
                     : nullptr;
  if (!cert)
    return support::fail("cannot make a certificate for wisp's local endpoint (OpenSSL)");
  tls.cert_pem = pem_of(cert.get()) + ca_pem;
  tls.key_pem = pem_of(key.get());
  return tls;
}

} // namespace wisp::gateway
