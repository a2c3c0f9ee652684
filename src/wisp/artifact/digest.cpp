#include <wisp/artifact/digest.hpp>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>
#include <vector>

namespace wisp::artifact {

Digest make_digest(const support::Sha256Digest& sha, std::uint64_t size) {
  return Digest{support::to_hex(sha), support::base64_encode(sha), size};
}

Digest digest_bytes(std::string_view bytes) {
  return make_digest(support::sha256(bytes), bytes.size());
}

support::Result<Digest> digest_file(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return support::failf("cannot read {}: {}", path.string(), std::strerror(errno));
  support::Sha256 sha;
  std::vector<char> buffer(1u << 20u);
  std::uint64_t size = 0;
  while (true) {
    const auto n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR)
        continue;
      const int err = errno;
      ::close(fd);
      return support::failf("cannot read {}: {}", path.string(), std::strerror(err));
    }
    if (n == 0)
      break;
    sha.update(buffer.data(), static_cast<std::size_t>(n));
    size += static_cast<std::uint64_t>(n);
  }
  ::close(fd);
  return make_digest(sha.finish(), size);
}

} // namespace wisp::artifact
