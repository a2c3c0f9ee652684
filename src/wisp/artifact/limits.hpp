#pragma once
// Lambda's size limits, checked before anything is uploaded:
//   - 50 MB (52,428,800 bytes) zipped for a direct upload (past it, code must go via S3);
//   - 262,144,000 bytes (250 MB) unzipped for a function and all its layers;
//   - 10 GB (10,737,418,240 bytes) for an image.
// A crossed limit is an error naming the function and the largest contributors.

#include <wisp/artifact/build.hpp>
#include <wisp/template/model.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace wisp::artifact {

inline constexpr std::uint64_t k_max_direct_upload_zip = 52'428'800;
inline constexpr std::uint64_t k_max_unzipped = 262'144'000;
inline constexpr std::uint64_t k_max_image = 10'737'418'240;

struct LimitViolation {
  std::string logical_id;
  std::string message; // one line, names the limit and the largest contributors
};

// Unzipped size of every built function plus the template layers it uses (layers given
// as ARNs cannot be measured and count as 0); with `direct_upload`, also the zipped size.
std::vector<LimitViolation> check_limits(const sam::Model& model, const BuildReport& report,
                                         bool direct_upload);

// The image size limit for one image (sum of its compressed layers).
std::vector<LimitViolation> check_image_size(const std::string& logical_id,
                                             std::uint64_t image_size);

} // namespace wisp::artifact
