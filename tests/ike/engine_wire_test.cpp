// CREATE_CHILD_SA on the wire, pinned: two Engines with deterministic randomness bring up
// dc-tun (the second CHILD_SA by CREATE_CHILD_SA), rekey a CHILD_SA from either side,
// retry after INVALID_KE_PAYLOAD and rekey the IKE_SA. Every CREATE_CHILD_SA datagram is
// decrypted with the exported IKE keys; its header and inner payload chain (KE data
// zeroed: OpenSSL makes the DH keys) must hash to the digest recorded before the
// create/rekey code was shared.
#include <catch2/catch.hpp>
#include <openssl/evp.h>

#include <map>
#include <string>
#include <vector>

#include "ike/engine.h"
#include "ike/message.h"
#include "ike/sk.h"
#include "tests/ike/two_peers.h"

using namespace ike;
using namespace ike_test;

namespace {

// splitmix64: the same bytes every run.
class SeededRandom final : public common::crypto::Random {
 public:
  explicit SeededRandom(std::uint64_t seed) : s_(seed) {}
  void fill(common::MutByteSpan out) override {
    for (auto& b : out) {
      if (left_ == 0) {
        std::uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        word_ = z ^ (z >> 31);
        left_ = 8;
      }
      b = std::byte{static_cast<unsigned char>(word_)};
      word_ >>= 8;
      --left_;
    }
  }

 private:
  std::uint64_t s_, word_ = 0;
  int left_ = 0;
};

struct Pair {
  SeededRandom ra{1}, rb{2};
  Engine a{ra}, b{rb};
  TimePoint now = TimePoint{} + std::chrono::hours(1);
  std::map<std::pair<std::uint64_t, std::uint64_t>, IkeSaKeys> keys;
  std::string transcript;  // one line per CREATE_CHILD_SA datagram
  std::size_t messages = 0;
  std::size_t installs = 0;
  std::size_t ke_retries = 0;  // "peer didn't accept DH group" logged

  void events(Engine& e) {
    for (auto& ev : e.events()) {
      if (auto* k = std::get_if<IkeSaKeys>(&ev)) keys[{k->spi_i, k->spi_r}] = *k;
      if (std::holds_alternative<ChildSaInstall>(ev)) ++installs;
      if (auto* l = std::get_if<LogEvent>(&ev); l && l->text.find("peer didn't accept DH group") != std::string::npos)
        ++ke_retries;
    }
    e.events().clear();
  }
  void record(bool from_a, const common::Bytes& d) {
    auto h = Header::parse(d);
    REQUIRE(h.ok());
    if (h->exchange != ExchangeType::create_child_sa) return;
    auto k = keys.find({h->spi_i, h->spi_r});
    REQUIRE(k != keys.end());
    const IkeSaKeys& x = k->second;
    auto sk = sk::SkKeys::create(x.encr, h->initiator ? x.sk_ei : x.sk_er, x.integ, h->initiator ? x.sk_ai : x.sk_ar);
    REQUIRE(sk.ok());
    auto m = sk::decrypt(d, *sk);
    REQUIRE(m.ok());
    for (auto& p : m->payloads)
      if (auto* ke = std::get_if<KePayload>(&p)) std::fill(ke->data.begin(), ke->data.end(), std::byte{0});
    common::Bytes inner;
    serialize_payload_chain(m->payloads, inner);
    ++messages;
    transcript += std::string(from_a ? "A " : "B ") + common::to_hex(common::ByteSpan(d).first(Header::kSize)) +
                  " " + common::to_hex(inner) + "\n";
  }
  void pump() {
    for (int i = 0; i < 50; ++i) {
      events(a);
      events(b);
      auto oa = std::move(a.outbox());
      a.outbox().clear();
      auto ob = std::move(b.outbox());
      b.outbox().clear();
      if (oa.empty() && ob.empty()) return;
      for (auto& d : oa) {
        record(true, d.data);
        b.on_datagram(d.remote, d.local, d.data, now);
      }
      for (auto& d : ob) {
        record(false, d.data);
        a.on_datagram(d.remote, d.local, d.data, now);
      }
    }
  }
  void run_until(TimePoint until) {
    for (int i = 0; i < 10000; ++i) {
      auto ea = a.next_expiry(), eb = b.next_expiry();
      std::optional<TimePoint> t = ea;
      if (eb && (!t || *eb < *t)) t = eb;
      if (!t || *t > until) break;
      if (*t > now) now = *t;
      a.on_expiry(now);
      b.on_expiry(now);
      pump();
    }
    now = until;
    a.on_expiry(now);
    b.on_expiry(now);
    pump();
  }
};

std::string sha256_hex(const std::string& s) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  REQUIRE(EVP_Digest(s.data(), s.size(), md, &n, EVP_sha256(), nullptr) == 1);
  return common::to_hex(common::ByteSpan(reinterpret_cast<const std::byte*>(md), n));
}

// No fuzz: each SA rekeys at its lifetime - 8 s.
void lifetimes(PeerConfig& c, Seconds gre, Seconds tcp, Seconds ike = Seconds{3600}) {
  c.ike_lifetime = ike;
  c.rekey_margin = Seconds{8};
  c.rekey_fuzz_percent = 0;
  for (auto& ch : c.children) {
    ch.lifetime = ch.name == "dc-tun-gre" ? gre : tcp;
    ch.rekey_margin = Seconds{8};
    ch.rekey_fuzz_percent = 0;
  }
}

}  // namespace

TEST_CASE("CREATE_CHILD_SA wire bytes: create, rekey by either side, INVALID_KE retry", "[ike][wire]") {
  struct Case {
    const char* name;
    const char* esp_a;
    const char* esp_b;
    Seconds ike_life_a;
    std::size_t messages;
    std::size_t ke_retries;
    const char* digest;
  };
  const Case c = GENERATE(
      Case{"PFS", "aes256-sha256-modp2048!", "aes256-sha256-modp2048!", Seconds{3600}, 8, 0,
           "87cc60596815822ce4be98fcc63bbdc89d56a9d4367504bbfa2a6e126e87b4dd"},
      Case{"no PFS", "aes256-sha256!", "aes256-sha256!", Seconds{3600}, 8, 0,
           "3753a45b9516fe7ebf4d997ed4a4a6eab62e7704f327306f96bc144413e3f2b2"},
      // A offers MODP_2048 first (and, rekeying the IKE_AUTH child, has no group yet): B
      // asks for MODP_3072 by INVALID_KE_PAYLOAD, at the create and at the first rekey.
      Case{"INVALID_KE retry", "aes256-sha256-modp2048-modp3072!", "aes256-sha256-modp3072!", Seconds{3600}, 12, 2,
           "5769ab97ee5a281ce3c94346db1820555ea6826b1982fdf4fd63b7f3043cc409"},
      // A also rekeys the IKE_SA at 18 s; the CHILD_SA rekey at 24 s runs on its successor.
      Case{"IKE rekey", "aes256-sha256-modp2048!", "aes256-sha256-modp2048!", Seconds{26}, 10, 0,
           "adb9f2d7522cbf4af3d95e6ad2868b6445b04a9c705e59c186973dafca628a5e"});
  INFO(c.name);
  Pair p;
  PeerConfig pa = peer(true, "aes256-sha256-modp2048!", c.esp_a);
  PeerConfig pb = peer(false, "aes256-sha256-modp2048!", c.esp_b);
  // A rekeys dc-tun-gre at 12 s and 24 s, B rekeys dc-tun-tcp at 16 s.
  lifetimes(pa, Seconds{20}, Seconds{60}, c.ike_life_a);
  lifetimes(pb, Seconds{60}, Seconds{24});
  REQUIRE(p.a.add_peer(std::move(pa)).ok());
  REQUIRE(p.b.add_peer(std::move(pb)).ok());
  REQUIRE(p.a.initiate("dc-tun", p.now).ok());
  p.pump();
  TimePoint t0 = p.now;
  p.run_until(t0 + Seconds{25});
  INFO(p.transcript);
  CHECK(p.installs == 10);  // 2 + 2 at the start, then 2 per rekey
  CHECK(p.messages == c.messages);
  CHECK(p.ke_retries == c.ke_retries);
  CHECK(p.a.counters().ike_rekeys + p.b.counters().ike_rekeys == (c.ike_life_a < Seconds{3600} ? 2u : 0u));
  CHECK(sha256_hex(p.transcript) == c.digest);
}
