// The certificate files of a conn (leftcert=, rightcert=, rightca=) and the CA and CRL
// folders of config setup (cadir=, crldir=, default ipsec.d/cacerts and ipsec.d/crls beside
// the config, strongSwan's /etc/ipsec.d layout) read into an ike::PeerConfig. Files are
// read here, once per load or reload; the IKE core gets parsed objects only.
#pragma once

#include <string>
#include <vector>

#include "config/model.h"
#include "ike/engine.h"

namespace config {

// The CA and CRL folders in effect for cfg (setup's, else the ipsec.d defaults when they
// exist; empty when neither).
std::string effective_cadir(const Config& cfg);
std::string effective_crldir(const Config& cfg);

// Fills p.local_cert, p.send_cert, p.trust, p.peer_cert and p.peer_ca_dn for conn c.
// false, with errors naming the file, when a file cannot be read or is not what it should
// be. A conn without leftcert=, rightcert= or rightca= leaves p alone (returns true).
bool load_x509(const Config& cfg, const ConnConfig& c, ike::PeerConfig& p, std::vector<std::string>& errors);

// Whether c authenticates with certificates (any of leftcert=, rightcert=, rightca=).
bool uses_certs(const ConnConfig& c);

}  // namespace config
