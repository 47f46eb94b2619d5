// Registry credentials as the docker CLI reads them (dind/credentials.hpp): config.json's auths, a credential
// helper that answers, one that fails; no secret in an error.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "dind/credentials.hpp"
#include "dind/errors.hpp"

namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "dind-creds-XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { fs::remove_all(path); }
  void write(const std::string& name, const std::string& text,
             fs::perms perms = fs::perms::owner_read | fs::perms::owner_write) const {
    std::ofstream(path / name) << text;
    fs::permissions(path / name, perms);
  }
};

}  // namespace

TEST(Credentials, RegistryOfAnImageAndItsKey) {
  EXPECT_EQ(dind::registry_of_image("busybox:1"), "docker.io");
  EXPECT_EQ(dind::registry_of_image("127.0.0.1:5000/x/y:z"), "127.0.0.1:5000");
  EXPECT_EQ(dind::auth_key_of("docker.io"), "https://index.docker.io/v1/");
  EXPECT_EQ(dind::auth_key_of("ghcr.io"), "ghcr.io");
}

TEST(Credentials, AuthsByKeyAndByHost) {
  TempDir d;
  // "dXNlcjpwYXNz" is base64 of "user:pass"
  d.write("config.json", R"({"auths": {"https://reg.test:5000/v1/": {"auth": "dXNlcjpwYXNz"}}})");
  const auto a = dind::Credentials::load(d.path.string()).get("reg.test:5000");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->username, "user");
  EXPECT_EQ(a->password, "pass");
  EXPECT_EQ(a->auth_config()["serveraddress"], "https://reg.test:5000/v1/");
  EXPECT_FALSE(dind::Credentials::load(d.path.string()).get("other.test"));
}

TEST(Credentials, HelperAnswersAndFailsWithoutLeaking) {
  TempDir d;
  const auto exe = fs::perms::owner_all;
  d.write("docker-credential-ok", "#!/bin/sh\nread s\necho '{\"Username\":\"<token>\",\"Secret\":\"tok-123\"}'\n", exe);
  d.write("docker-credential-bad", "#!/bin/sh\necho hidden-secret; echo 'store locked' >&2; exit 2\n", exe);
  d.write("config.json", R"({"credHelpers": {"ok.test": "ok", "bad.test": "bad"}})");
  const std::string path = d.path.string() + ":" + ::getenv("PATH");
  ::setenv("PATH", path.c_str(), 1);
  const auto creds = dind::Credentials::load(d.path.string());
  const auto a = creds.get("ok.test");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->identity_token, "tok-123");
  try {
    creds.get("bad.test");
    FAIL() << "a failing helper must throw";
  } catch (const dind::Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("docker-credential-bad"), std::string::npos) << m;
    EXPECT_NE(m.find("bad.test"), std::string::npos) << m;
    EXPECT_NE(m.find("store locked"), std::string::npos) << m;
    EXPECT_EQ(m.find("hidden-secret"), std::string::npos) << m;
  }
}
