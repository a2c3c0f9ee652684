#pragma once
// Internal to the template area: resolved nodes → Boost.JSON values (what the model
// carries for raw property blobs). Numbers become integers when integral, doubles
// otherwise; AWS::NoValue never reaches here (the resolver removes it).

#include <wisp/template/node.hpp>

#include <boost/json/value.hpp>

namespace wisp::sam::detail {

boost::json::value to_json(const Node& node);
boost::json::object to_json_object(const Node& node); // empty unless a mapping

} // namespace wisp::sam::detail
