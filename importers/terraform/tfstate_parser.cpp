// tfstate v3/v4 reader.
//
// Large states (the bench target is 100 MB) must not be held as one DOM: nlohmann's DOM costs
// several times the text size. The SAX handler below materialises one element of `resources`
// (v4) or `modules` (v3) at a time, converts it, hands it to the visitor and drops it.
#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include <sys/mman.h>
#include <unistd.h>

#include <fmt/format.h>

#include "nic/importer.h"
#include "importers/terraform/tfstate_scan.h"
#include "nic/json_limits.h"
#include "src/core/simd_json.h"

namespace nic {

// Terraform's flatmap ("a.#", "a.0.b", "tags.%", "tags.Name") back into nested values.
// Scalars stay strings, as v3 wrote them; the mappers read them leniently.
nlohmann::json UnflattenAttributes(const std::map<std::string, std::string>& flat);

namespace {

using nlohmann::json;

const char* TypeName(const json& j) {
  switch (j.type()) {
    case json::value_t::null: return "null";
    case json::value_t::object: return "object";
    case json::value_t::array: return "array";
    case json::value_t::string: return "string";
    case json::value_t::boolean: return "boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "integer";
    case json::value_t::number_float: return "number";
    default: return "value";
  }
}

Status Bad(const std::string& source, const std::string& path, const std::string& what) {
  return Status::InvalidInput(fmt::format("{}: {}: {}", source, path, what))
      .WithDetail("file", source)
      .WithDetail("json_path", path);
}

Status WrongType(const std::string& source, const std::string& path, const char* expected,
                 const json& found) {
  return Bad(source, path, fmt::format("expected {}, found {}", expected, TypeName(found)));
}

std::string IndexKeyText(const json& key) {
  if (key.is_null()) return "";
  if (key.is_string()) return "[" + key.dump() + "]";
  return "[" + key.dump() + "]";
}

// ---- field readers with path-naming errors -------------------------------------------------

struct Ctx {
  const std::string& source;
  bool dependencies = true;  // TfstateReadOptions::dependencies
};

Status ReadString(const Ctx& c, const json& obj, const char* key, const std::string& path,
                  bool required, std::string* out) {
  auto it = obj.find(key);
  if (it == obj.end() || (it->is_null() && !required)) {
    if (required) return Bad(c.source, path, fmt::format("missing required field \"{}\"", key));
    return Status::OK();
  }
  if (!it->is_string()) return WrongType(c.source, path + "." + key, "a string", *it);
  *out = it->get<std::string>();
  return Status::OK();
}

// ---- v4 -------------------------------------------------------------------------------------

Status ConvertV4Instance(const Ctx& c, json& in, const std::string& path, TerraformInstance* out) {
  if (!in.is_object()) return WrongType(c.source, path, "an object", in);
  if (auto it = in.find("index_key"); it != in.end() && !it->is_null()) {
    if (it->is_number_integer() || it->is_number_unsigned()) {
      out->index_key = *it;
    } else if (it->is_string()) {
      out->index_key = *it;
    } else {
      return WrongType(c.source, path + ".index_key", "an integer or a string", *it);
    }
  }
  NIC_RETURN_IF_ERROR(ReadString(c, in, "status", path, false, &out->status));
  if (!out->status.empty() && out->status != "tainted") {
    return Bad(c.source, path + ".status",
               fmt::format("unknown instance status \"{}\" (Terraform writes only \"tainted\")",
                           out->status));
  }
  NIC_RETURN_IF_ERROR(ReadString(c, in, "deposed", path, false, &out->deposed));
  if (auto it = in.find("schema_version"); it != in.end() && !it->is_null()) {
    if (!it->is_number_integer() && !it->is_number_unsigned()) {
      return WrongType(c.source, path + ".schema_version", "an integer", *it);
    }
    out->schema_version = it->get<int64_t>();
  }
  auto attrs = in.find("attributes");
  if (attrs != in.end() && !attrs->is_null()) {
    if (!attrs->is_object()) return WrongType(c.source, path + ".attributes", "an object", *attrs);
    out->attributes = std::move(*attrs);
  } else if (auto flat = in.find("attributes_flat"); flat != in.end() && !flat->is_null()) {
    // Legacy providers wrote flatmaps even in v4.
    if (!flat->is_object()) return WrongType(c.source, path + ".attributes_flat", "an object", *flat);
    std::map<std::string, std::string> m;
    for (auto& [k, v] : flat->items()) {
      if (!v.is_string()) return WrongType(c.source, path + ".attributes_flat." + k, "a string", v);
      m.emplace(k, v.get<std::string>());
    }
    out->attributes = UnflattenAttributes(m);
  }
  if (auto it = in.find("sensitive_attributes"); it != in.end() && !it->is_null()) {
    if (!it->is_array()) {
      return WrongType(c.source, path + ".sensitive_attributes", "an array", *it);
    }
    size_t i = 0;
    for (auto& p : *it) {
      std::string pp = fmt::format("{}.sensitive_attributes[{}]", path, i++);
      if (!p.is_array()) return WrongType(c.source, pp, "an array of path steps", p);
      for (auto& step : p) {
        if (!step.is_object() || !step.contains("type")) {
          return WrongType(c.source, pp, "path steps {\"type\", \"value\"}", step);
        }
      }
      out->sensitive_paths.push_back(std::move(p));
    }
  }
  if (auto it = in.find("dependencies"); it != in.end() && !it->is_null()) {
    if (!it->is_array()) return WrongType(c.source, path + ".dependencies", "an array", *it);
    size_t i = 0;
    for (auto& d : *it) {
      if (!d.is_string()) {
        return WrongType(c.source, fmt::format("{}.dependencies[{}]", path, i), "a string", d);
      }
      if (c.dependencies) out->dependencies.push_back(d.get<std::string>());
      ++i;
    }
  }
  return Status::OK();
}

Status ConvertV4Resource(const Ctx& c, json& in, const std::string& path, TerraformResource* out) {
  if (!in.is_object()) return WrongType(c.source, path, "an object", in);
  out->json_path = path;
  NIC_RETURN_IF_ERROR(ReadString(c, in, "module", path, false, &out->module));
  NIC_RETURN_IF_ERROR(ReadString(c, in, "mode", path, true, &out->mode));
  if (out->mode != "managed" && out->mode != "data") {
    return Bad(c.source, path + ".mode",
               fmt::format("expected \"managed\" or \"data\", found \"{}\"", out->mode));
  }
  NIC_RETURN_IF_ERROR(ReadString(c, in, "type", path, true, &out->type));
  NIC_RETURN_IF_ERROR(ReadString(c, in, "name", path, true, &out->name));
  if (out->type.empty()) return Bad(c.source, path + ".type", "must not be empty");
  if (out->name.empty()) return Bad(c.source, path + ".name", "must not be empty");
  NIC_RETURN_IF_ERROR(ReadString(c, in, "provider", path, false, &out->provider));
  NIC_RETURN_IF_ERROR(ReadString(c, in, "each", path, false, &out->each));
  auto insts = in.find("instances");
  if (insts == in.end()) return Bad(c.source, path, "missing required field \"instances\"");
  if (!insts->is_array()) return WrongType(c.source, path + ".instances", "an array", *insts);
  std::set<std::string> seen;
  size_t i = 0;
  for (auto& ij : *insts) {
    std::string ip = fmt::format("{}.instances[{}]", path, i++);
    TerraformInstance inst;
    NIC_RETURN_IF_ERROR(ConvertV4Instance(c, ij, ip, &inst));
    std::string key = inst.index_key.dump() + "|" + inst.deposed;
    if (!seen.insert(key).second) {
      return Bad(c.source, ip,
                 fmt::format("duplicate instance address {}",
                             TerraformInstanceAddress(*out, inst)));
    }
    out->instances.push_back(std::move(inst));
  }
  return Status::OK();
}

// ---- v3 -------------------------------------------------------------------------------------

std::string ModulePathFromV3(const json& path) {
  std::string out;
  bool first = true;
  for (const auto& seg : path) {
    if (first) {  // "root"
      first = false;
      continue;
    }
    if (!out.empty()) out += ".";
    out += "module." + seg.get<std::string>();
  }
  return out;
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
}

Status FlatAttributes(const Ctx& c, const json& primary, const std::string& path,
                      TerraformInstance* inst) {
  std::map<std::string, std::string> flat;
  if (auto a = primary.find("attributes"); a != primary.end() && !a->is_null()) {
    if (!a->is_object()) return WrongType(c.source, path + ".attributes", "an object", *a);
    for (auto& [k, v] : a->items()) {
      if (!v.is_string()) return WrongType(c.source, path + ".attributes." + k, "a string", v);
      flat.emplace(k, v.get<std::string>());
    }
  }
  inst->attributes = UnflattenAttributes(flat);
  if (auto id = primary.find("id"); id != primary.end() && id->is_string()) {
    if (!inst->attributes.contains("id")) inst->attributes["id"] = *id;
  }
  return Status::OK();
}

Status ConvertV3Module(const Ctx& c, json& mod, const std::string& path,
                       std::vector<TerraformResource>* out) {
  if (!mod.is_object()) return WrongType(c.source, path, "an object", mod);
  auto p = mod.find("path");
  if (p == mod.end()) return Bad(c.source, path, "missing required field \"path\"");
  if (!p->is_array() || p->empty()) return WrongType(c.source, path + ".path", "a non-empty array", *p);
  for (size_t i = 0; i < p->size(); ++i) {
    if (!(*p)[i].is_string()) {
      return WrongType(c.source, fmt::format("{}.path[{}]", path, i), "a string", (*p)[i]);
    }
  }
  std::string module = ModulePathFromV3(*p);
  auto res = mod.find("resources");
  if (res == mod.end() || res->is_null()) return Status::OK();
  if (!res->is_object()) return WrongType(c.source, path + ".resources", "an object", *res);

  // Group "type.name.N" keys into one resource block per type.name.
  std::map<std::string, size_t> block_index;
  for (auto& [key, rv] : res->items()) {
    std::string rp = path + ".resources[" + json(key).dump() + "]";
    if (!rv.is_object()) return WrongType(c.source, rp, "an object", rv);
    std::string mode = "managed";
    std::string_view k = key;
    if (k.rfind("data.", 0) == 0) {
      mode = "data";
      k.remove_prefix(5);
    }
    size_t dot = k.find('.');
    if (dot == std::string_view::npos) {
      return Bad(c.source, rp, "resource key must look like \"type.name\" or \"type.name.N\"");
    }
    std::string type(k.substr(0, dot));
    std::string rest(k.substr(dot + 1));
    json index_key;
    if (size_t last = rest.rfind('.'); last != std::string::npos && AllDigits(rest.substr(last + 1))) {
      index_key = std::stoll(rest.substr(last + 1));
      rest = rest.substr(0, last);
    }
    std::string declared_type;
    NIC_RETURN_IF_ERROR(ReadString(c, rv, "type", rp, false, &declared_type));
    if (!declared_type.empty() && declared_type != type) {
      return Bad(c.source, rp + ".type",
                 fmt::format("\"{}\" does not match the key's type \"{}\"", declared_type, type));
    }
    std::string provider;
    NIC_RETURN_IF_ERROR(ReadString(c, rv, "provider", rp, false, &provider));
    std::string block_key = mode + "|" + type + "|" + rest;
    auto [it, inserted] = block_index.emplace(block_key, out->size());
    if (inserted) {
      TerraformResource r;
      r.module = module;
      r.mode = mode;
      r.type = type;
      r.name = rest;
      r.provider = provider;
      r.json_path = rp;
      out->push_back(std::move(r));
    }
    TerraformResource& r = (*out)[it->second];
    if (!index_key.is_null()) r.each = "list";

    auto primary = rv.find("primary");
    if (primary != rv.end() && !primary->is_null()) {
      if (!primary->is_object()) return WrongType(c.source, rp + ".primary", "an object", *primary);
      TerraformInstance inst;
      inst.index_key = index_key;
      NIC_RETURN_IF_ERROR(FlatAttributes(c, *primary, rp + ".primary", &inst));
      if (auto t = primary->find("tainted"); t != primary->end() && t->is_boolean() && t->get<bool>()) {
        inst.status = "tainted";
      }
      if (auto d = rv.find("depends_on"); d != rv.end() && d->is_array()) {
        for (auto& dep : *d) {
          if (dep.is_string()) inst.dependencies.push_back(dep.get<std::string>());
        }
      }
      for (auto& existing : r.instances) {
        if (existing.index_key == inst.index_key && existing.deposed.empty()) {
          return Bad(c.source, rp, fmt::format("duplicate instance address {}",
                                               TerraformInstanceAddress(r, inst)));
        }
      }
      r.instances.push_back(std::move(inst));
    }
    if (auto dep = rv.find("deposed"); dep != rv.end() && !dep->is_null()) {
      if (!dep->is_array()) return WrongType(c.source, rp + ".deposed", "an array", *dep);
      for (size_t i = 0; i < dep->size(); ++i) {
        auto& d = (*dep)[i];
        std::string dp = fmt::format("{}.deposed[{}]", rp, i);
        if (!d.is_object()) return WrongType(c.source, dp, "an object", d);
        TerraformInstance inst;
        inst.index_key = index_key;
        inst.deposed = fmt::format("v3-{}", i);
        NIC_RETURN_IF_ERROR(FlatAttributes(c, d, dp, &inst));
        r.instances.push_back(std::move(inst));
      }
    }
  }
  return Status::OK();
}

Status ConvertOutputs(const std::string& source, json& j, TfstateHeader* header) {
  for (auto& [name, o] : j.items()) {
    std::string p = "$.outputs." + name;
    if (!o.is_object()) return WrongType(source, p, "an object", o);
    TerraformOutput out;
    if (auto s = o.find("sensitive"); s != o.end() && !s->is_null()) {
      if (!s->is_boolean()) return WrongType(source, p + ".sensitive", "a boolean", *s);
      out.sensitive = s->get<bool>();
    }
    if (auto v = o.find("value"); v != o.end()) out.value = std::move(*v);
    header->outputs[name] = std::move(out);
  }
  return Status::OK();
}

// ---- SAX driver -----------------------------------------------------------------------------

// Builds a DOM for one captured subtree.
class DomBuilder {
 public:
  void Reset() {
    root_ = json();
    stack_.clear();
    done_ = false;
  }
  bool done() const { return done_; }
  json& root() { return root_; }

  void Key(std::string&& k) { key_ = std::move(k); }
  void Value(json&& v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      done_ = true;
      return;
    }
    Insert(std::move(v));
  }
  void Start(json&& container) {
    if (stack_.empty()) {
      root_ = std::move(container);
      stack_.push_back(&root_);
      return;
    }
    stack_.push_back(Insert(std::move(container)));
  }
  void End() {
    stack_.pop_back();
    if (stack_.empty()) done_ = true;
  }

 private:
  json* Insert(json&& v) {
    json* top = stack_.back();
    if (top->is_array()) {
      top->push_back(std::move(v));
      return &top->back();
    }
    json& slot = (*top)[key_];
    slot = std::move(v);
    return &slot;
  }

  json root_;
  std::vector<json*> stack_;
  std::string key_;
  bool done_ = false;
};

struct PathSeg {
  bool array = false;
  size_t next_index = 0;  // for arrays: index of the next element
  std::string key;        // for objects: the current key
};

class TfstateSax {
 public:
  TfstateSax(const std::string& source, TfstateHeader* header, const TfstateReadOptions& options,
             const TerraformResourceVisitor& visit)
      : source_(source), header_(header), options_(options), visit_(visit) {}

  Status status() const { return status_; }
  bool saw_version() const { return saw_version_; }
  bool saw_resources() const { return saw_resources_; }
  bool saw_modules() const { return saw_modules_; }

  // -- nlohmann SAX interface
  bool null() { return Scalar(json()); }
  bool boolean(bool v) { return Scalar(json(v)); }
  bool number_integer(json::number_integer_t v) { return Scalar(json(v)); }
  bool number_unsigned(json::number_unsigned_t v) { return Scalar(json(v)); }
  bool number_float(json::number_float_t v, const std::string&) { return Scalar(json(v)); }
  bool string(std::string& v) { return Scalar(json(std::move(v))); }
  bool binary(json::binary_t&) { return Fail("binary values are not JSON"); }

  bool start_object(std::size_t) { return StartContainer(false); }
  bool end_object() { return EndContainer(); }
  bool start_array(std::size_t) { return StartContainer(true); }
  bool end_array() { return EndContainer(); }
  bool key(std::string& k) {
    path_.back().key = k;
    if (capturing_) dom_.Key(std::move(k));
    return true;
  }
  bool parse_error(std::size_t position, const std::string& last_token,
                   const nlohmann::detail::exception& ex) {
    std::string what = ex.what();
    // nlohmann's message starts with "[json.exception.parse_error.101] parse error at line...".
    if (auto p = what.find("] "); p != std::string::npos) what = what.substr(p + 2);
    bool truncated = last_token.empty() || what.find("unexpected end of input") != std::string::npos;
    status_ = Bad(source_, PathString(),
                  fmt::format("{} at byte {} ({})", truncated ? "truncated JSON" : "malformed JSON",
                              position, what));
    return false;
  }

  Status Finish() {
    if (!status_.ok()) return status_;
    for (auto& r : pending_) {
      NIC_RETURN_IF_ERROR(Deliver(std::move(r)));
    }
    pending_.clear();
    return Status::OK();
  }

 private:
  // Depth 1 = inside the top-level object.
  size_t depth() const { return path_.size(); }

  std::string PathString() const {
    std::string out = "$";
    for (const auto& s : path_) {
      if (s.array) {
        if (s.next_index > 0) out += fmt::format("[{}]", s.next_index - 1);
      } else if (!s.key.empty()) {
        out += "." + s.key;
      }
    }
    return out;
  }

  bool Fail(std::string what) {
    if (status_.ok()) status_ = Bad(source_, PathString(), what);
    return false;
  }

  // Which top-level member a value sits in ("" above the top level).
  const std::string& TopKey() const {
    static const std::string kEmpty;
    return path_.empty() ? kEmpty : path_[0].key;
  }

  void BeforeValue() {
    if (!path_.empty() && path_.back().array) path_.back().next_index++;
  }

  // Path of the element that is being captured, e.g. "$.resources[3]".
  std::string ElementPath() const {
    return fmt::format("$.{}[{}]", path_[0].key, path_[1].next_index - 1);
  }

  bool Scalar(json&& v) {
    if (path_.empty()) return Fail("a tfstate must be a JSON object");
    BeforeValue();
    if (capturing_) {
      dom_.Value(std::move(v));
      return true;
    }
    if (depth() == 1) return TopScalar(std::move(v));
    if (depth() == 2 && path_[1].array && (TopKey() == "resources" || TopKey() == "modules")) {
      // A scalar where a resource/module object belongs.
      capture_path_ = ElementPath();
      return Fail(fmt::format("expected an object, found {}", TypeName(v)));
    }
    return true;  // skipped member (check_results, ...)
  }

  bool TopScalar(json&& v) {
    const std::string& k = TopKey();
    if (k == "version") {
      if (!v.is_number_integer() && !v.is_number_unsigned()) {
        return Fail(fmt::format("expected an integer, found {}", TypeName(v)));
      }
      int64_t ver = v.get<int64_t>();
      saw_version_ = true;
      header_->version = static_cast<int>(ver);
      if (ver >= 1 && ver <= 2) {
        // Terraform's statefile package still reads format versions 1-3 and upgrades them in
        // memory; writing the state back produces version 4.
        return Fail(fmt::format(
            "tfstate format version {} is an early Terraform format that NIC does not read "
            "(it reads versions 3 and 4); Terraform 0.12 or later upgrades it: in the stage "
            "directory run `terraform state pull > upgraded.tfstate` (or `terraform refresh`), "
            "which writes version 4, then import that file",
            ver));
      }
      if (ver == 0) {
        return Fail(
            "tfstate format version 0 predates Terraform's JSON state format and is not read by "
            "NIC (it reads versions 3 and 4); upgrade it first with a Terraform release old enough "
            "to read it (0.11 or earlier writes version 3), then with Terraform 0.12 or later "
            "(`terraform state pull > upgraded.tfstate`) to get version 4");
      }
      if (ver != 3 && ver != 4) {
        return Fail(fmt::format("unsupported tfstate format version {}: NIC reads versions 3 "
                                "(written up to Terraform 0.11) and 4 (Terraform 0.12 and later)",
                                ver));
      }
      return true;
    }
    if (k == "terraform_version") {
      if (!v.is_string()) return Fail(fmt::format("expected a string, found {}", TypeName(v)));
      header_->terraform_version = v.get<std::string>();
      return true;
    }
    if (k == "serial") {
      if (!v.is_number_integer() && !v.is_number_unsigned()) {
        return Fail(fmt::format("expected an integer, found {}", TypeName(v)));
      }
      header_->serial = v.get<uint64_t>();
      return true;
    }
    if (k == "lineage") {
      if (!v.is_string() && !v.is_null()) return Fail(fmt::format("expected a string, found {}", TypeName(v)));
      if (v.is_string()) header_->lineage = v.get<std::string>();
      return true;
    }
    if ((k == "resources" || k == "modules" || k == "outputs") && !v.is_null()) {
      return Fail(fmt::format("expected {}, found {}", k == "outputs" ? "an object" : "an array",
                              TypeName(v)));
    }
    return true;
  }

  bool StartContainer(bool array) {
    if (path_.empty()) {
      if (array) return Fail("a tfstate must be a JSON object, found an array");
      path_.push_back(PathSeg{});
      return true;
    }
    if (depth() >= static_cast<size_t>(kMaxJsonDepth)) {
      return Fail(fmt::format("JSON nested more than {} levels deep; no Terraform state nests this deep, so the "
                              "file is damaged or not a tfstate", kMaxJsonDepth));
    }
    BeforeValue();
    if (capturing_) {
      dom_.Start(array ? json::array() : json::object());
      path_.push_back(PathSeg{array, 0, {}});
      return true;
    }
    const std::string& k = TopKey();
    if (depth() == 1) {
      if (k == "version" || k == "serial" || k == "lineage" || k == "terraform_version") {
        return Fail(fmt::format("expected a scalar, found {}", array ? "array" : "object"));
      }
      if (k == "resources" || k == "modules") {
        if (!array) return Fail("expected an array, found object");
        (k == "resources" ? saw_resources_ : saw_modules_) = true;
      } else if (k == "outputs") {
        if (array) return Fail("expected an object, found array");
        BeginCapture("$.outputs");
      }
      if (capturing_) dom_.Start(json::object());
      path_.push_back(PathSeg{array, 0, {}});
      return true;
    }
    if (depth() == 2 && path_[1].array && (k == "resources" || k == "modules")) {
      BeginCapture(ElementPath());
      dom_.Start(array ? json::array() : json::object());
    }
    path_.push_back(PathSeg{array, 0, {}});
    return true;
  }

  void BeginCapture(std::string path) {
    capturing_ = true;
    capture_path_ = std::move(path);
    dom_.Reset();
  }

  bool EndContainer() {
    path_.pop_back();
    if (capturing_) {
      dom_.End();
      if (dom_.done()) {
        capturing_ = false;
        return Captured();
      }
    }
    return true;
  }

  bool Captured() {
    json& j = dom_.root();
    Ctx c{source_, options_.dependencies};
    Status st;
    if (capture_path_ == "$.outputs") {
      st = ConvertOutputs(source_, j, header_);
    } else if (TopKey() == "resources") {
      TerraformResource r;
      st = ConvertV4Resource(c, j, capture_path_, &r);
      if (st.ok()) st = Route(std::move(r));
    } else {
      std::vector<TerraformResource> rs;
      st = ConvertV3Module(c, j, capture_path_, &rs);
      for (auto& r : rs) {
        if (!st.ok()) break;
        st = Route(std::move(r));
      }
    }
    dom_.Reset();
    if (!st.ok()) {
      status_ = st;
      return false;
    }
    return true;
  }

  // Resources met before "version" wait until the version is known (Terraform writes the
  // version first, so this only costs memory for hand-edited files).
  Status Route(TerraformResource&& r) {
    if (!saw_version_) {
      pending_.push_back(std::move(r));
      return Status::OK();
    }
    return Deliver(std::move(r));
  }

  Status Deliver(TerraformResource&& r) {
    std::string addr = TerraformResourceAddress(r);
    auto [it, inserted] = seen_blocks_.emplace(addr, r.json_path);
    if (!inserted) {
      return Bad(source_, r.json_path,
                 fmt::format("duplicate resource address {} (first at {})", addr, it->second));
    }
    return visit_(std::move(r));
  }

  const std::string& source_;
  TfstateHeader* header_;
  const TfstateReadOptions& options_;
  const TerraformResourceVisitor& visit_;
  Status status_;
  std::vector<PathSeg> path_;
  bool capturing_ = false;
  std::string capture_path_;
  DomBuilder dom_;
  bool saw_version_ = false;
  bool saw_resources_ = false;
  bool saw_modules_ = false;
  std::vector<TerraformResource> pending_;
  std::map<std::string, std::string> seen_blocks_;
};


// ---- simdjson fast path -----------------------------------------------------------------------

// The same walk as TfstateSax with simdjson doing the lexing (src/core/simd_json.h): each
// element of `resources` / `modules` is built as the same nlohmann DOM the SAX capture builds
// and goes through the same Convert* functions, so what the visitor receives is identical.
// It only handles documents that parse cleanly: on anything unexpected (bad JSON, a wrong
// type, an unknown version, a duplicate address) it stops and the SAX reader runs instead,
// which reports the error exactly as before. Errors from the visitor are returned as they are.
class FastTfstate {
 public:
  enum class Outcome { kDone, kVisitorError, kFallBack };

  FastTfstate(const std::string& source, TfstateHeader* header, const TfstateReadOptions& options,
              const TerraformResourceVisitor& visit)
      : source_(source), header_(header), options_(options), visit_(visit) {}

  size_t delivered() const { return delivered_; }
  bool released() const { return released_ > 0; }
  const Status& visitor_status() const { return visitor_status_; }

  // With `scan` (ScanTfstate's bounds for `bytes`), the top level is parsed from a copy of the
  // document without the contents of its `resources` / `modules` arrays, and each element
  // from a copy of its own bytes, so simdjson's index never spans more than one element.
  // Without, the whole document is parsed at once.
  Outcome Run(std::string_view bytes, size_t capacity, const tfimport::TfstateScan* scan = nullptr) {
    std::string skeleton;
    if (scan != nullptr) {
      scan_ = scan;
      bytes_ = bytes;
      bytes_capacity_ = std::max(capacity, bytes.size());
      size_t from = 0;
      for (const auto& a : scan->arrays) {
        skeleton.append(bytes.data() + from, a.begin + 1 - from);  // up to and with '['
        from = a.end - 1;                                          // from ']'
      }
      skeleton.append(bytes.data() + from, bytes.size() - from);
      skeleton.append(simdjson::SIMDJSON_PADDING, ' ');
      capacity = skeleton.size();
      bytes = std::string_view(skeleton.data(), skeleton.size() - simdjson::SIMDJSON_PADDING);
    }
    simd::PaddedInput in(bytes, capacity);
    simd::od::parser parser;
    simd::od::document doc;
    if (parser.iterate(in.data(), in.size(), in.capacity()).get(doc)) return Outcome::kFallBack;
    simd::od::object top;
    if (doc.get_object().get(top)) return Outcome::kFallBack;
    for (auto field_or : top) {
      simd::od::field f;
      if (std::move(field_or).get(f)) return Outcome::kFallBack;
      std::string_view key;
      if (simd::Key(f, &key)) return Outcome::kFallBack;
      Outcome o = Member(key, f.value());
      if (o != Outcome::kDone) return o;
    }
    if (!simd::AtEnd(doc)) return Outcome::kFallBack;
    for (auto& r : pending_) {
      Outcome o = Deliver(std::move(r));
      if (o != Outcome::kDone) return o;
    }
    pending_.clear();
    if (!saw_version_) return Outcome::kFallBack;
    if (header_->version == 4 && saw_modules_) return Outcome::kFallBack;
    if (header_->version == 3 && saw_resources_) return Outcome::kFallBack;
    return Outcome::kDone;
  }

 private:
  Outcome Member(std::string_view key, simd::od::value v) {
    simd::od::json_type t;
    if (v.type().get(t)) return Outcome::kFallBack;
    bool container = t == simd::od::json_type::array || t == simd::od::json_type::object;
    if (key == "resources" || key == "modules") {
      if (t == simd::od::json_type::null) return Scalar(v);
      if (t != simd::od::json_type::array) return Outcome::kFallBack;
      (key == "resources" ? saw_resources_ : saw_modules_) = true;
      simd::od::array arr;
      if (v.get_array().get(arr)) return Outcome::kFallBack;
      if (scan_ != nullptr) {  // the skeleton's array is empty; the elements are in bytes_
        for (auto el_or : arr) {
          (void)el_or;
          return Outcome::kFallBack;
        }
        if (next_array_ >= scan_->arrays.size() || scan_->arrays[next_array_].key != key) {
          return Outcome::kFallBack;
        }
        size_t i = 0;
        for (const auto& [b, e] : scan_->arrays[next_array_++].elements) {
          // simdjson reads up to SIMDJSON_PADDING bytes past the end, whatever they hold
          // (simdjson/simdjson#1965): the rest of the document will do, and only an element
          // too close to the end of the buffer is copied.
          size_t len = e - b;
          const char* data = bytes_.data() + b;
          size_t readable = bytes_capacity_ - b;
          if (e + simdjson::SIMDJSON_PADDING > bytes_capacity_) {
            element_.assign(data, len);
            element_.append(simdjson::SIMDJSON_PADDING, ' ');
            data = element_.data();
            readable = element_.size();
          }
          simd::od::document edoc;
          if (element_parser_.iterate(data, len, readable).get(edoc)) return Outcome::kFallBack;
          simd::od::object o;
          if (edoc.get_object().get(o)) return Outcome::kFallBack;
          Outcome out = Element(key, o, i++, &edoc);
          if (out != Outcome::kDone) return out;
          if (options_.reread) Release(e);
        }
        return Outcome::kDone;
      }
      size_t i = 0;
      for (auto el_or : arr) {
        simd::od::value el;
        if (el_or.get(el)) return Outcome::kFallBack;
        simd::od::object o;
        if (el.get_object().get(o)) return Outcome::kFallBack;
        Outcome out = Element(key, o, i++, nullptr);
        if (out != Outcome::kDone) return out;
      }
      return Outcome::kDone;
    }
    if (key == "outputs") {
      if (t == simd::od::json_type::null) return Scalar(v);
      if (t != simd::od::json_type::object) return Outcome::kFallBack;
      json j;
      if (simd::ToJson(v, j)) return Outcome::kFallBack;
      return ConvertOutputs(source_, j, header_).ok() ? Outcome::kDone : Outcome::kFallBack;
    }
    bool header_field = key == "version" || key == "terraform_version" || key == "serial" || key == "lineage";
    if (header_field && container) return Outcome::kFallBack;
    if (!header_field) {  // check_results and the like: read (so bad JSON is noticed) and drop
      json ignored;
      return simd::ToJson(v, ignored) ? Outcome::kFallBack : Outcome::kDone;
    }
    json j;
    if (simd::ToJson(v, j)) return Outcome::kFallBack;
    if (key == "version") {
      if (!j.is_number_unsigned()) return Outcome::kFallBack;
      uint64_t ver = j.get<uint64_t>();
      if (ver != 3 && ver != 4) return Outcome::kFallBack;  // the SAX reader explains
      saw_version_ = true;
      header_->version = static_cast<int>(ver);
    } else if (key == "terraform_version") {
      if (!j.is_string()) return Outcome::kFallBack;
      header_->terraform_version = j.get<std::string>();
    } else if (key == "serial") {
      if (!j.is_number_unsigned()) return Outcome::kFallBack;
      header_->serial = j.get<uint64_t>();
    } else {  // lineage
      if (!j.is_string() && !j.is_null()) return Outcome::kFallBack;
      if (j.is_string()) header_->lineage = j.get<std::string>();
    }
    return Outcome::kDone;
  }

  // Element i of `resources` / `modules`; `doc` is its own document when it was parsed alone
  // (then nothing may follow the object).
  Outcome Element(std::string_view key, simd::od::object o, size_t i, simd::od::document* doc) {
    json j;
    deps_.clear();
    if (key == "resources" ? ResourceToJson(o, j) : simd::ObjectToJson(o, j)) return Outcome::kFallBack;
    if (doc != nullptr && !simd::AtEnd(*doc)) return Outcome::kFallBack;
    std::string path = fmt::format("$.{}[{}]", key, i);
    Ctx c{source_, options_.dependencies};
    if (key == "resources") {
      TerraformResource r;
      if (!ConvertV4Resource(c, j, path, &r).ok()) return Outcome::kFallBack;
      for (size_t k = 0; k < deps_.size() && k < r.instances.size(); ++k) {
        if (deps_[k]) r.instances[k].dependencies = std::move(*deps_[k]);
      }
      return Route(std::move(r));
    }
    std::vector<TerraformResource> rs;
    if (!ConvertV3Module(c, j, path, &rs).ok()) return Outcome::kFallBack;
    for (auto& r : rs) {
      Outcome out = Route(std::move(r));
      if (out != Outcome::kDone) return out;
    }
    return Outcome::kDone;
  }

  // A v4 resource as simd::ObjectToJson builds it, except that each instance's "dependencies"
  // (most of the bytes of large states, hashicorp/terraform#35822; the mappers never read them)
  // go straight into deps_[instance index] as strings instead of through a JSON array.
  simdjson::error_code ResourceToJson(simd::od::object o, json& out) {
    out = json::object();
    auto& m = out.get_ref<json::object_t&>();
    for (auto field_or : o) {
      simd::od::field f;
      SIMDJSON_TRY(std::move(field_or).get(f));
      std::string_view k;
      SIMDJSON_TRY(simd::Key(f, &k));
      json& slot = m[std::string(k)];
      simd::od::json_type t;
      SIMDJSON_TRY(f.value().type().get(t));
      if (k != "instances" || t != simd::od::json_type::array) {
        SIMDJSON_TRY(simd::ToJson(f.value(), slot));
        continue;
      }
      deps_.clear();  // a repeated "instances" replaces the earlier one, as in the DOM
      slot = json::array();
      auto& arr = slot.get_ref<json::array_t&>();
      simd::od::array insts;
      SIMDJSON_TRY(f.value().get_array().get(insts));
      for (auto el_or : insts) {
        simd::od::value el;
        SIMDJSON_TRY(std::move(el_or).get(el));
        deps_.emplace_back();
        arr.emplace_back();
        SIMDJSON_TRY(el.type().get(t));
        if (t != simd::od::json_type::object) {
          SIMDJSON_TRY(simd::ToJson(el, arr.back()));
          continue;
        }
        simd::od::object io;
        SIMDJSON_TRY(el.get_object().get(io));
        json& inst = arr.back();
        inst = json::object();
        auto& im = inst.get_ref<json::object_t&>();
        for (auto ifield_or : io) {
          simd::od::field fi;
          SIMDJSON_TRY(std::move(ifield_or).get(fi));
          std::string_view ik;
          SIMDJSON_TRY(simd::Key(fi, &ik));
          simd::od::json_type it;
          SIMDJSON_TRY(fi.value().type().get(it));
          if (ik != "dependencies" || it != simd::od::json_type::array) {
            if (ik == "dependencies") deps_.back().reset();
            SIMDJSON_TRY(simd::ToJson(fi.value(), im[std::string(ik)]));
            continue;
          }
          im.erase("dependencies");  // a repeated key keeps its last value
          std::vector<std::string> list;
          simd::od::array da;
          SIMDJSON_TRY(fi.value().get_array().get(da));
          for (auto d_or : da) {
            simd::od::value d;
            SIMDJSON_TRY(std::move(d_or).get(d));
            if (options_.dependencies) {
              list.emplace_back();
              SIMDJSON_TRY(simd::GetString(d, &list.back()));  // not a string: the SAX reader explains
              continue;
            }
            // Checked as the SAX reader checks it, not copied: a string (stage 1 has validated
            // its UTF-8) whose escapes, if any, are valid. Left unread, the array skips it.
            SIMDJSON_TRY(d.type().get(it));
            if (it != simd::od::json_type::string) return simdjson::INCORRECT_TYPE;
            if (d.raw_json_token().find('\\') != std::string_view::npos) {
              std::string_view unescaped;
              SIMDJSON_TRY(d.get_string().get(unescaped));
            }
          }
          deps_.back() = std::move(list);
        }
      }
    }
    return simdjson::SUCCESS;
  }

  // Discards the pages of bytes_ before `end` (whole pages only, at least 1 MiB at a time);
  // see TfstateReadOptions::reread.
  void Release(size_t end) {
    static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    const auto base = reinterpret_cast<uintptr_t>(bytes_.data());
    uintptr_t from = (base + released_ + page - 1) / page * page;
    uintptr_t to = (base + end) / page * page;
    if (to <= from || to - from < (size_t{1} << 20)) return;
    madvise(reinterpret_cast<void*>(from), to - from, MADV_DONTNEED);  // only a hint if it fails
    released_ = to - base;
  }

  static Outcome Scalar(simd::od::value& v) {
    json ignored;
    return simd::ToJson(v, ignored) ? Outcome::kFallBack : Outcome::kDone;
  }

  Outcome Route(TerraformResource&& r) {
    if (!saw_version_) {
      pending_.push_back(std::move(r));
      return Outcome::kDone;
    }
    return Deliver(std::move(r));
  }

  Outcome Deliver(TerraformResource&& r) {
    std::string addr = TerraformResourceAddress(r);
    if (!seen_blocks_.emplace(std::move(addr), r.json_path).second) return Outcome::kFallBack;
    ++delivered_;
    visitor_status_ = visit_(std::move(r));
    return visitor_status_.ok() ? Outcome::kDone : Outcome::kVisitorError;
  }

  const std::string& source_;
  TfstateHeader* header_;
  const TfstateReadOptions& options_;
  const TerraformResourceVisitor& visit_;
  bool saw_version_ = false;
  bool saw_resources_ = false;
  bool saw_modules_ = false;
  size_t delivered_ = 0;
  Status visitor_status_;
  std::vector<TerraformResource> pending_;
  std::map<std::string, std::string> seen_blocks_;
  std::vector<std::optional<std::vector<std::string>>> deps_;  // see ResourceToJson
  const tfimport::TfstateScan* scan_ = nullptr;  // see Run
  std::string_view bytes_;
  size_t bytes_capacity_ = 0;                // readable bytes from bytes_.data()
  size_t next_array_ = 0;
  size_t released_ = 0;                      // bytes_ before this are no longer resident
  std::string element_;                      // the last element's bytes, padded for simdjson
  simd::od::parser element_parser_;          // its index: as large as the largest element
};

}  // namespace

namespace {

nlohmann::json UnflattenRange(const std::map<std::string, std::string>& flat, const std::string& prefix);

// Entries under `prefix` (which ends with '.' or is empty) grouped by their next segment.
nlohmann::json UnflattenRange(const std::map<std::string, std::string>& flat, const std::string& prefix) {
  json obj = json::object();
  auto it = flat.lower_bound(prefix);
  while (it != flat.end() && it->first.compare(0, prefix.size(), prefix) == 0) {
    std::string rest = it->first.substr(prefix.size());
    size_t dot = rest.find('.');
    std::string seg = rest.substr(0, dot);
    std::string sub = prefix + seg + ".";
    auto count_list = flat.find(sub + "#");
    auto count_map = flat.find(sub + "%");
    if (count_list != flat.end()) {
      // List or set: elements by their next segment (an index, or a set hash).
      json elems = json::array();
      std::set<std::string> segs;
      for (auto e = flat.lower_bound(sub); e != flat.end() && e->first.compare(0, sub.size(), sub) == 0; ++e) {
        std::string r = e->first.substr(sub.size());
        std::string s = r.substr(0, r.find('.'));
        if (s != "#") segs.insert(s);
      }
      std::vector<std::string> ordered(segs.begin(), segs.end());
      std::sort(ordered.begin(), ordered.end(), [](const std::string& a, const std::string& b) {
        bool da = AllDigits(a), db = AllDigits(b);
        if (da && db && a.size() != b.size()) return a.size() < b.size();
        return a < b;
      });
      for (const auto& s : ordered) {
        auto exact = flat.find(sub + s);
        std::string child_prefix = sub + s + ".";
        auto c = flat.lower_bound(child_prefix);
        bool has_children = c != flat.end() && c->first.compare(0, child_prefix.size(), child_prefix) == 0;
        if (has_children) {
          elems.push_back(UnflattenRange(flat, child_prefix));
        } else if (exact != flat.end()) {
          elems.push_back(exact->second);
        }
      }
      obj[seg] = std::move(elems);
    } else if (count_map != flat.end()) {
      json m = json::object();
      for (auto e = flat.lower_bound(sub); e != flat.end() && e->first.compare(0, sub.size(), sub) == 0; ++e) {
        std::string r = e->first.substr(sub.size());
        if (r != "%") m[r] = e->second;
      }
      obj[seg] = std::move(m);
    } else if (dot == std::string::npos) {
      obj[seg] = it->second;
      ++it;
      continue;
    } else {
      obj[seg] = UnflattenRange(flat, sub);
    }
    // Skip everything under this segment.
    std::string end = prefix + seg + "/";  // '/' sorts right after '.'
    it = flat.lower_bound(end);
    // Keys equal to prefix+seg (exact) sort before prefix+seg+"."; already consumed.
  }
  return obj;
}

}  // namespace

nlohmann::json UnflattenAttributes(const std::map<std::string, std::string>& flat) {
  return UnflattenRange(flat, "");
}

std::string TerraformResourceAddress(const TerraformResource& r) {
  std::string out = r.module;
  if (!out.empty()) out += ".";
  if (r.mode == "data") out += "data.";
  out += r.type + "." + r.name;
  return out;
}

std::string TerraformInstanceAddress(const TerraformResource& r, const TerraformInstance& inst) {
  std::string out = TerraformResourceAddress(r) + IndexKeyText(inst.index_key);
  if (!inst.deposed.empty()) out += " (deposed " + inst.deposed + ")";
  return out;
}

namespace {

// The reference reader: nlohmann's SAX parser. It reports every error; the fast path hands
// over to it on anything but a clean document.
Status StreamTfstateSax(std::string_view bytes, const std::string& source, TfstateHeader* header,
                        const TfstateReadOptions& options, const TerraformResourceVisitor& visit) {
  TfstateSax sax(source, header, options, visit);
  bool ok = false;
  try {
    ok = json::sax_parse(bytes.begin(), bytes.end(), &sax, json::input_format_t::json, true, false);
  } catch (const std::exception& e) {
    return Status::InvalidInput(fmt::format("{}: $: {}", source, e.what()))
        .WithDetail("file", source)
        .WithDetail("json_path", "$");
  }
  if (!ok) {
    Status st = sax.status();
    if (st.ok()) st = Bad(source, "$", "malformed JSON");
    return st;
  }
  NIC_RETURN_IF_ERROR(sax.Finish());
  if (!sax.saw_version()) return Bad(source, "$", "missing required field \"version\"");
  if (header->version == 4 && sax.saw_modules()) {
    return Bad(source, "$.modules", "a version 4 state has \"resources\", not \"modules\"");
  }
  if (header->version == 3 && sax.saw_resources()) {
    return Bad(source, "$.resources", "a version 3 state has \"modules\", not \"resources\"");
  }
  return Status::OK();
}

}  // namespace

Status StreamTfstate(std::string_view bytes, size_t capacity, const std::string& source,
                     TfstateHeader* header, const TerraformResourceVisitor& visit) {
  return StreamTfstate(bytes, capacity, source, header, TfstateReadOptions{}, visit);
}

Status StreamTfstate(std::string_view bytes, size_t capacity, const std::string& source,
                     TfstateHeader* header, const TfstateReadOptions& options,
                     const TerraformResourceVisitor& visit) {
  TfstateHeader local;
  if (header == nullptr) header = &local;
  const char* reader = std::getenv("NIC_TFSTATE_READER");
  // The fast reader builds values recursively: a document nested deeper than kMaxJsonDepth goes
  // to the reference reader, which refuses it with the JSON path (one cheap pass over the bytes).
  // The element scan counts the depth as CheckJsonDepth does, so a scanned document needs no
  // second pass for it; a document the scan finds damaged goes straight to the reference reader.
  const bool use_fast = reader == nullptr || std::string_view(reader) != "sax";
  tfimport::TfstateScan scan;
  const tfimport::ScanResult scanned =
      use_fast ? tfimport::ScanTfstate(bytes, &scan) : tfimport::ScanResult::kUnsupported;
  const bool scanned_ok = scanned == tfimport::ScanResult::kOk;
  const bool shallow = scanned_ok ? scan.max_depth <= kMaxJsonDepth : CheckJsonDepth(bytes, source).ok();
  if (use_fast && scanned == tfimport::ScanResult::kMalformed && reader != nullptr &&
      std::string_view(reader) == "simdjson") {  // tests: no hand-over
    return Status::Internal(source + ": the simdjson reader handed over to the reference reader");
  }
  if (shallow && use_fast && scanned != tfimport::ScanResult::kMalformed) {
    FastTfstate fast(source, header, options, visit);
    switch (fast.Run(bytes, capacity, scanned_ok ? &scan : nullptr)) {
      case FastTfstate::Outcome::kDone: return Status::OK();
      case FastTfstate::Outcome::kVisitorError: return fast.visitor_status();
      case FastTfstate::Outcome::kFallBack: break;
    }
    if (reader != nullptr && std::string_view(reader) == "simdjson") {  // tests: no hand-over
      return Status::Internal(source + ": the simdjson reader handed over to the reference reader");
    }
    // Start again with the reference reader, which reports the problem. The resources the
    // visitor has already seen come first in the same order there, so they are not repeated.
    *header = TfstateHeader{};
    size_t skip = fast.delivered();
    std::string again;
    if (fast.released()) {  // part of `bytes` is gone: read them again
      Result<std::string> r = options.reread();
      if (!r.ok()) return r.status();
      again = std::move(*r);
      bytes = again;
    }
    return StreamTfstateSax(bytes, source, header, options, [&](TerraformResource&& r) -> Status {
      if (skip > 0) {
        --skip;
        return Status::OK();
      }
      return visit(std::move(r));
    });
  }
  return StreamTfstateSax(bytes, source, header, options, visit);
}

Status StreamTfstate(std::string_view bytes, const std::string& source, TfstateHeader* header,
                     const TerraformResourceVisitor& visit) {
  return StreamTfstate(bytes, 0, source, header, visit);
}

Result<TerraformState> ParseTfstate(std::string_view bytes, const std::string& source) {
  TerraformState state;
  Status st = StreamTfstate(bytes, source, &state.header, [&](TerraformResource&& r) {
    state.resources.push_back(std::move(r));
    return Status::OK();
  });
  if (!st.ok()) return st;
  return state;
}

}  // namespace nic
