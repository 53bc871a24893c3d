#include "tls/acme_json.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/atomic_file.hpp"
#include "tls/base64.hpp"

namespace portier::tls {

namespace {

using Json = nlohmann::ordered_json;

std::string string_field(const Json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// A base64 []byte field; false when present but not a valid base64 string.
bool bytes_field(const Json& obj, const char* key, std::string& out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return true;
  if (!it->is_string()) return false;
  auto decoded = base64_decode(it->get<std::string>());
  if (!decoded) return false;
  out = std::move(*decoded);
  return true;
}

std::optional<AcmeAccount> parse_account(const Json& j, const std::string& path, core::Problems& problems) {
  if (!j.is_object()) {
    if (!j.is_null()) problems.push_back({path, "not an object"});
    return std::nullopt;
  }
  AcmeAccount a;
  a.email = string_field(j, "Email");
  a.key_type = string_field(j, "KeyType");
  if (!bytes_field(j, "PrivateKey", a.private_key_der)) {
    problems.push_back({path + ".PrivateKey", "not valid base64"});
    return std::nullopt;
  }
  if (auto reg = j.find("Registration"); reg != j.end() && reg->is_object()) {
    a.registration_uri = string_field(*reg, "uri");
    // An empty body reads as none: the writer gives a registration without body "body": {}
    // (as Traefik does), which must read back the same.
    if (auto body = reg->find("body"); body != reg->end() && !body->is_null() && !(body->is_object() && body->empty()))
      a.registration_body = body->dump();
  }
  return a;
}

std::optional<AcmeCertificate> parse_certificate(const Json& j, const std::string& path,
                                                 core::Problems& problems) {
  if (!j.is_object()) {
    problems.push_back({path, "not an object"});
    return std::nullopt;
  }
  AcmeCertificate c;
  if (auto d = j.find("domain"); d != j.end() && d->is_object()) {
    c.main = string_field(*d, "main");
    if (auto sans = d->find("sans"); sans != d->end() && sans->is_array())
      for (const auto& s : *sans)
        if (s.is_string()) c.sans.push_back(s.get<std::string>());
  }
  if (j.contains("Store")) c.store = string_field(j, "Store");
  bool good = true;
  for (auto [key, out] : {std::pair{"certificate", &c.certificate_pem}, std::pair{"key", &c.key_pem}}) {
    if (!bytes_field(j, key, *out)) {
      problems.push_back({path + "." + key, "not valid base64"});
      good = false;
    } else if (out->empty()) {
      problems.push_back({path + "." + key, "missing"});
      good = false;
    }
  }
  if (c.main.empty()) {
    problems.push_back({path + ".domain.main", "missing"});
    good = false;
  }
  return good ? std::optional(std::move(c)) : std::nullopt;
}

bool parse_resolver(const std::string& name, const Json& j, AcmeResolverData& out, core::Problems& problems) {
  std::string base = "acme.json: " + name;
  if (j.is_null()) return true;
  if (!j.is_object()) {
    problems.push_back({base, "not an object"});
    return false;
  }
  if (auto a = j.find("Account"); a != j.end()) out.account = parse_account(*a, base + ".Account", problems);
  auto certs = j.find("Certificates");
  if (certs == j.end() || certs->is_null()) return true;
  if (!certs->is_array()) {
    problems.push_back({base + ".Certificates", "not an array"});
    return false;
  }
  for (size_t i = 0; i < certs->size(); ++i)
    if (auto c = parse_certificate((*certs)[i], base + ".Certificates[" + std::to_string(i) + "]", problems))
      out.certificates.push_back(std::move(*c));
  return true;
}

Json account_json(const AcmeAccount& a) {
  Json j = Json::object();
  j["Email"] = a.email;
  if (a.registration_uri.empty() && a.registration_body.empty()) {
    j["Registration"] = nullptr;
  } else {
    Json reg = Json::object();
    Json body = Json::parse(a.registration_body, nullptr, false);
    reg["body"] = body.is_discarded() || a.registration_body.empty() ? Json::object() : body;
    reg["uri"] = a.registration_uri;
    j["Registration"] = std::move(reg);
  }
  j["PrivateKey"] = a.private_key_der.empty() ? Json(nullptr) : Json(base64_encode(a.private_key_der));
  j["KeyType"] = a.key_type;
  return j;
}

Json certificate_json(const AcmeCertificate& c) {
  Json domain = Json::object();
  domain["main"] = c.main;
  if (!c.sans.empty()) domain["sans"] = c.sans;
  Json j = Json::object();
  j["domain"] = std::move(domain);
  j["certificate"] = base64_encode(c.certificate_pem);
  j["key"] = base64_encode(c.key_pem);
  j["Store"] = c.store;
  return j;
}

}  // namespace

AcmeJsonResult parse_acme_json(std::string_view text) {
  AcmeJsonResult result;
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    result.ok = true;
    return result;
  }
  Json root = Json::parse(text, nullptr, false);
  if (root.is_discarded()) {
    result.problems.push_back({"acme.json", "not valid JSON"});
    return result;
  }
  if (!root.is_object()) {
    result.problems.push_back({"acme.json", "not a JSON object"});
    return result;
  }
  if (auto v1 = root.find("Account"); v1 != root.end() && v1->is_object() && v1->contains("PrivateKey")) {
    result.problems.push_back({"acme.json", "Traefik v1 layout (no resolver names) is not supported"});
    return result;
  }
  result.ok = true;
  for (const auto& [name, value] : root.items()) {
    AcmeResolverData data;
    if (!parse_resolver(name, value, data, result.problems)) {
      result.ok = false;
      continue;
    }
    result.store.emplace(name, std::move(data));
  }
  return result;
}

std::string acme_json_text(const AcmeStore& store) {
  Json root = Json::object();
  for (const auto& [name, data] : store) {
    Json r = Json::object();
    r["Account"] = data.account ? account_json(*data.account) : Json(nullptr);
    Json certs = Json::array();
    for (const auto& c : data.certificates) certs.push_back(certificate_json(c));
    r["Certificates"] = std::move(certs);
    root[name] = std::move(r);
  }
  return root.dump(2) + "\n";
}

std::string check_acme_json_mode(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return errno == ENOENT ? std::string() : path + ": " + std::strerror(errno);
  if ((st.st_mode & 0077) == 0) return {};
  char mode[8];
  std::snprintf(mode, sizeof mode, "%03o", static_cast<unsigned>(st.st_mode & 0777));
  return path + ": permissions " + mode + " are too open, please use 600 (chmod 600 " + path + ")";
}

AcmeJsonResult read_acme_json_file(const std::string& path) {
  AcmeJsonResult result;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 && errno == ENOENT) {
    result.ok = true;
    return result;
  }
  if (auto error = check_acme_json_mode(path); !error.empty()) {
    result.problems.push_back({"acme.json", error});
    return result;
  }
  std::string error;
  auto text = core::read_file(path, &error);
  if (!text) {
    result.problems.push_back({"acme.json", error});
    return result;
  }
  return parse_acme_json(*text);
}

std::string write_acme_json_file(const std::string& path, const AcmeStore& store) {
  return core::write_file_atomic(path, acme_json_text(store), 0600);
}

}  // namespace portier::tls
