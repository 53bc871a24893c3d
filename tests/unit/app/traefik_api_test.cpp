#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "app/traefik_api.hpp"

using nlohmann::json;
using portier::app::answer_api;
using portier::app::ApiState;
using portier::app::traefik_runtime;

namespace {

// config::routes_json()'s shape: two HTTP routers (one disabled), a service with a down server,
// a middleware, a TCP router and service.
json routes() {
  return json::parse(R"JSON({
    "http": {
      "routers": {
        "web@docker": {"rule": "Host(`web.test`)", "entryPoints": ["web"], "service": "web",
                       "middlewares": ["auth@file"], "priority": 17, "provider": "docker", "status": "enabled"},
        "api@file": {"rule": "PathPrefix(`/api`)", "entryPoints": ["web"], "service": "api@internal",
                     "middlewares": [], "priority": 18, "provider": "file", "status": "enabled"},
        "bad@file": {"rule": "Host(`bad.test`)", "entryPoints": ["web"], "service": "missing",
                     "middlewares": [], "priority": 17, "provider": "file", "status": "disabled",
                     "error": "service \"missing@file\" does not exist"}
      },
      "services": {
        "web@docker": {"type": "loadBalancer", "provider": "docker", "status": "enabled", "passHostHeader": true,
                       "servers": [{"url": "http://10.0.0.1:80", "healthy": true},
                                   {"url": "http://10.0.0.2:80", "healthy": false}]}
      },
      "middlewares": {
        "auth@file": {"basicAuth": {"users": ["redacted"]}, "type": "basicAuth", "provider": "file", "status": "enabled"}
      }
    },
    "tcp": {
      "routers": {"db@file": {"rule": "HostSNI(`*`)", "entryPoints": ["db"], "service": "db", "priority": 11,
                              "provider": "file", "status": "enabled"}},
      "services": {"db@file": {"type": "loadBalancer", "provider": "file", "status": "enabled",
                               "servers": [{"address": "10.0.0.3:5432"}]}},
      "middlewares": {}
    },
    "udp": {"routers": {}, "services": {}},
    "errors": []
  })JSON");
}

ApiState state() {
  ApiState s;
  s.runtime = traefik_runtime(routes());
  s.entry_points = json::array({{{"name", "db"}, {"address", ":5432"}}, {{"name", "web"}, {"address", ":80"}}});
  s.version = "0.1.0";
  return s;
}

json get(const ApiState& s, std::string_view path, std::string_view query = "", int status = 200) {
  auto r = answer_api(s, "GET", path, query);
  INFO(path << "?" << query << ": " << r.body);
  REQUIRE(r.status == status);
  return json::parse(r.body);
}

using Names = std::vector<std::string>;

// The names of a list's items, in the order answered.
Names names(const ApiState& s, std::string_view path, std::string_view query) {
  Names out;
  for (const auto& item : get(s, path, query)) out.push_back(item["name"]);
  return out;
}

std::string header(const portier::proxy::ApiReply& r, const std::string& name) {
  for (const auto& [n, v] : r.headers)
    if (n == name) return v;
  return "";
}

}  // namespace

TEST_CASE("the runtime representation has Traefik's shapes") {
  const json rt = traefik_runtime(routes());
  const json& web = rt["routers"]["web@docker"];
  CHECK(web["using"] == json::array({"web"}));
  CHECK_FALSE(web.contains("provider"));
  CHECK(rt["routers"]["bad@file"]["status"] == "disabled");
  CHECK(rt["routers"]["bad@file"]["error"] == json::array({"service \"missing@file\" does not exist"}));
  const json& svc = rt["services"]["web@docker"];
  CHECK(svc["loadBalancer"]["passHostHeader"] == true);
  CHECK(svc["loadBalancer"]["servers"] == json::array({{{"url", "http://10.0.0.1:80"}}, {{"url", "http://10.0.0.2:80"}}}));
  CHECK(svc["serverStatus"] == json{{"http://10.0.0.1:80", "UP"}, {"http://10.0.0.2:80", "DOWN"}});
  CHECK(svc["usedBy"] == json::array({"web@docker"}));
  CHECK(rt["middlewares"]["auth@file"]["usedBy"] == json::array({"web@docker"}));
  CHECK(rt["middlewares"]["auth@file"].contains("basicAuth"));
  CHECK(rt["tcpServices"]["db@file"]["serverStatus"] == json{{"10.0.0.3:5432", "UP"}});
  CHECK_FALSE(rt.contains("udpRouters"));  // empty sections are left out, as Traefik's omitempty
}

TEST_CASE("lists carry name, provider, priorityStr and type") {
  const ApiState s = state();
  json routers = get(s, "/api/http/routers");
  REQUIRE(routers.size() == 3);
  CHECK(routers[0]["name"] == "api@file");  // sorted by name
  CHECK(routers[2]["name"] == "web@docker");
  CHECK(routers[2]["provider"] == "docker");
  CHECK(routers[2]["priorityStr"] == "17");
  json services = get(s, "/api/http/services");
  CHECK(services[0]["type"] == "loadbalancer");
  CHECK(get(s, "/api/http/middlewares")[0]["type"] == "basicauth");
  CHECK(get(s, "/api/tcp/routers")[0]["name"] == "db@file");
  CHECK(get(s, "/api/udp/routers") == json::array());
  CHECK(get(s, "/api/http/routers/web@docker")["rule"] == "Host(`web.test`)");
  CHECK(get(s, "/api/http/routers/web%40docker")["name"] == "web@docker");
  CHECK(get(s, "/api/http/routers/nope@file", "", 404)["message"] == "router not found: nope@file");
  CHECK(get(s, "/api/entrypoints/web")["address"] == ":80");
  CHECK(get(s, "/api/udp/middlewares", "", 404).contains("message"));
}

TEST_CASE("search, status, serviceName and middlewareName filter as Traefik does") {
  const ApiState s = state();
  const char* http = "/api/http/routers";
  CHECK(names(s, http, "status=disabled") == Names{"bad@file"});
  CHECK(names(s, http, "search=WEB.test") == Names{"web@docker"});  // rule, case-insensitive
  CHECK(names(s, http, "search=%2Fapi") == Names{"api@file"});
  CHECK(names(s, http, "serviceName=web@docker") == Names{"web@docker"});
  CHECK(names(s, http, "middlewareName=auth@file") == Names{"web@docker"});
  CHECK(get(s, "/api/http/services", "status=enabled&search=web").size() == 1);
}

TEST_CASE("pagination: per_page, page and X-Next-Page") {
  const ApiState s = state();
  auto r = answer_api(s, "GET", "/api/http/routers", "per_page=2");
  CHECK(json::parse(r.body).size() == 2);
  CHECK(header(r, "X-Next-Page") == "2");
  r = answer_api(s, "GET", "/api/http/routers", "per_page=2&page=2");
  CHECK(json::parse(r.body).size() == 1);
  CHECK(header(r, "X-Next-Page") == "1");
  CHECK(answer_api(s, "GET", "/api/http/routers", "per_page=2&page=3").status == 400);
  CHECK(answer_api(s, "GET", "/api/http/routers", "per_page=0").status == 400);
  CHECK(answer_api(s, "GET", "/api/http/routers", "page=x").status == 400);
  CHECK(answer_api(s, "GET", "/api/entrypoints", "per_page=1").status == 200);
}

TEST_CASE("overview, rawdata, version") {
  const ApiState s = state();
  json o = get(s, "/api/overview");
  CHECK(o["http"]["routers"] == json{{"total", 3}, {"warnings", 0}, {"errors", 1}});
  CHECK(o["tcp"]["services"]["total"] == 1);
  CHECK_FALSE(o["udp"].contains("middlewares"));
  CHECK(get(s, "/api/rawdata") == s.runtime);
  CHECK(get(s, "/api/version")["Version"] == "0.1.0");
}

TEST_CASE("the dashboard's files, methods and unknown paths") {
  ApiState s = state();
  auto page = answer_api(s, "GET", "/dashboard/", "");
  CHECK(page.status == 200);
  CHECK(page.content_type == "text/html; charset=utf-8");
  CHECK(page.body.find("dashboard.js") != std::string::npos);
  CHECK(header(page, "Content-Security-Policy").starts_with("default-src 'self'"));
  CHECK(answer_api(s, "GET", "/dashboard/dashboard.js", "").status == 200);
  auto bare = answer_api(s, "GET", "/dashboard", "");
  CHECK(bare.status == 301);
  CHECK(header(bare, "Location") == "/dashboard/");
  CHECK(answer_api(s, "GET", "/dashboard/nope.png", "").status == 404);
  CHECK(answer_api(s, "POST", "/api/rawdata", "").status == 405);
  CHECK(answer_api(s, "GET", "/apix", "").status == 404);
  CHECK(answer_api(s, "GET", "/api/http/routers/a/b", "").status == 404);
  s.dashboard = false;  // api.dashboard: false
  CHECK(answer_api(s, "GET", "/dashboard/", "").status == 404);
  CHECK(answer_api(s, "GET", "/api/version", "").status == 200);
}

namespace {

// Items that differ in every field Traefik sorts by: HTTP routers (the fixture's, web@docker
// on two entrypoints), services of two types and server counts, middlewares, TCP routers,
// UDP routers and services, three entrypoints.
ApiState sortable() {
  json r = routes();
  r["http"]["routers"]["web@docker"]["entryPoints"] = json::array({"web", "websecure"});
  r["http"]["services"]["all@file"] = {{"type", "weighted"}, {"provider", "file"}, {"status", "enabled"},
                                       {"services", json::array({{{"name", "web@docker"}, {"weight", 1}}})}};
  r["http"]["services"]["one@file"] = {{"type", "loadBalancer"}, {"provider", "file"}, {"status", "enabled"},
                                       {"servers", json::array({{{"url", "http://10.0.0.9"}}})}};
  r["http"]["middlewares"]["strip@docker"] = {{"stripPrefix", {{"prefixes", json::array({"/a"})}}}, {"type", "stripPrefix"},
                                              {"provider", "docker"}, {"status", "enabled"}};
  r["tcp"]["routers"]["any@docker"] = {{"rule", "HostSNI(`*`)"}, {"entryPoints", json::array({"db"})}, {"service", "db@file"},
                                       {"priority", 3}, {"provider", "docker"}, {"status", "enabled"}};
  r["udp"]["routers"] = {{"dns@file", {{"entryPoints", json::array({"dns"})}, {"service", "b"}, {"provider", "file"}, {"status", "enabled"}}},
                         {"ntp@file", {{"entryPoints", json::array({"ntp"})}, {"service", "a"}, {"provider", "file"}, {"status", "enabled"}}}};
  r["udp"]["services"] = {
      {"a@file", {{"type", "loadBalancer"}, {"provider", "file"}, {"status", "enabled"},
                  {"servers", json::array({{{"address", "10.0.0.5:53"}}, {{"address", "10.0.0.6:53"}}})}}},
      {"b@file", {{"type", "loadBalancer"}, {"provider", "file"}, {"status", "enabled"},
                  {"servers", json::array({{{"address", "10.0.0.7:123"}}})}}}};
  ApiState s;
  s.runtime = traefik_runtime(r);
  s.entry_points = json::array({{{"name", "db"}}, {{"name", "web"}}, {{"name", "websecure"}}});
  return s;
}

}  // namespace

TEST_CASE("sortBy and direction sort routers as Traefik's sortRouters") {
  const ApiState s = sortable();
  const char* http = "/api/http/routers";
  CHECK(names(s, http, "") == Names{"api@file", "bad@file", "web@docker"});
  CHECK(names(s, http, "sortBy=name&direction=desc") == Names{"web@docker", "bad@file", "api@file"});
  // Priority 17, 17, 18: ties by name, in the direction's order.
  CHECK(names(s, http, "sortBy=priority") == Names{"bad@file", "web@docker", "api@file"});
  CHECK(names(s, http, "sortBy=priority&direction=desc") == Names{"api@file", "web@docker", "bad@file"});
  CHECK(names(s, http, "sortBy=status") == Names{"bad@file", "api@file", "web@docker"});  // disabled < enabled
  CHECK(names(s, http, "sortBy=provider") == Names{"web@docker", "api@file", "bad@file"});
  CHECK(names(s, http, "sortBy=rule") == Names{"bad@file", "web@docker", "api@file"});
  CHECK(names(s, http, "sortBy=service&direction=desc") == Names{"web@docker", "bad@file", "api@file"});
  CHECK(names(s, http, "sortBy=entryPoints") == Names{"api@file", "bad@file", "web@docker"});  // 1, 1, 2
  CHECK(names(s, http, "sortBy=entryPoints&direction=desc") == Names{"web@docker", "bad@file", "api@file"});
  // Traefik sorts by name for any other sortBy, and descending for any direction but "asc".
  CHECK(names(s, http, "sortBy=tls&direction=desc") == Names{"web@docker", "bad@file", "api@file"});
  CHECK(names(s, http, "sortBy=type&direction=DESC") == Names{"web@docker", "bad@file", "api@file"});
  CHECK(names(s, http, "sortBy=priority&direction=") == Names{"bad@file", "web@docker", "api@file"});
  // Filtering, then sorting, then paging.
  CHECK(names(s, http, "sortBy=priority&direction=desc&per_page=1&page=2") == Names{"web@docker"});
  CHECK(names(s, http, "status=enabled&sortBy=priority") == Names{"web@docker", "api@file"});
  CHECK(names(s, "/api/tcp/routers", "sortBy=priority") == Names{"any@docker", "db@file"});  // 3, 11
  CHECK(names(s, "/api/tcp/routers", "sortBy=provider&direction=desc") == Names{"db@file", "any@docker"});
  // UDP routers have no priority or rule: Traefik sorts them as all equal, so by name.
  CHECK(names(s, "/api/udp/routers", "sortBy=priority&direction=desc") == Names{"ntp@file", "dns@file"});
  CHECK(names(s, "/api/udp/routers", "sortBy=rule") == Names{"dns@file", "ntp@file"});
  CHECK(names(s, "/api/udp/routers", "sortBy=service") == Names{"ntp@file", "dns@file"});
}

TEST_CASE("sortBy and direction sort services as Traefik's sortServices") {
  const ApiState s = sortable();
  const char* http = "/api/http/services";
  CHECK(names(s, http, "") == Names{"all@file", "one@file", "web@docker"});
  // loadbalancer < weighted; a weighted service counts 0 servers.
  CHECK(names(s, http, "sortBy=type") == Names{"one@file", "web@docker", "all@file"});
  CHECK(names(s, http, "sortBy=servers") == Names{"all@file", "one@file", "web@docker"});
  CHECK(names(s, http, "sortBy=servers&direction=desc") == Names{"web@docker", "one@file", "all@file"});
  CHECK(names(s, http, "sortBy=provider") == Names{"web@docker", "all@file", "one@file"});
  CHECK(names(s, http, "sortBy=status&direction=desc") == Names{"web@docker", "one@file", "all@file"});
  CHECK(names(s, http, "sortBy=priority") == Names{"all@file", "one@file", "web@docker"});  // a router field
  CHECK(names(s, "/api/udp/services", "sortBy=servers") == Names{"b@file", "a@file"});  // 1, 2
  CHECK(names(s, "/api/tcp/services", "sortBy=servers&direction=desc") == Names{"db@file"});
}

TEST_CASE("sortBy and direction sort middlewares as Traefik's sortMiddlewares") {
  const ApiState s = sortable();
  const char* http = "/api/http/middlewares";
  CHECK(names(s, http, "") == Names{"auth@file", "strip@docker"});
  CHECK(names(s, http, "sortBy=type&direction=desc") == Names{"strip@docker", "auth@file"});
  CHECK(names(s, http, "sortBy=provider") == Names{"strip@docker", "auth@file"});
  CHECK(names(s, http, "sortBy=status&direction=desc") == Names{"strip@docker", "auth@file"});
  CHECK(names(s, http, "sortBy=servers&direction=asc") == Names{"auth@file", "strip@docker"});  // a service field
}

TEST_CASE("entrypoints sort by name in the given direction") {
  const ApiState s = sortable();
  CHECK(names(s, "/api/entrypoints", "") == Names{"db", "web", "websecure"});
  CHECK(names(s, "/api/entrypoints", "direction=desc") == Names{"websecure", "web", "db"});
  CHECK(names(s, "/api/entrypoints", "sortBy=address&direction=desc&per_page=2") == Names{"websecure", "web"});
}
