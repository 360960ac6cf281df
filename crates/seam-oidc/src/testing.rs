//! Test keys and token signing for the unit tests.
//!
//! ring generates the P-256 and Ed25519 keys; it cannot generate RSA keys, so the RSA key is
//! a fixed test key made with openssl (`tests/data/README.md`).

use ring::rand::SystemRandom;
use ring::signature::{
    self, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair,
    RsaPublicKeyComponents,
};
use serde_json::{Value, json};

use crate::encoding::base64url;
use crate::jwks::Alg;

const RSA_PKCS8: &[u8] = include_bytes!("../tests/data/rsa-2048.pk8.der");

pub(crate) struct TestKeys {
    rsa: RsaKeyPair,
    ec: EcdsaKeyPair,
    ed: Ed25519KeyPair,
    rng: SystemRandom,
}

impl TestKeys {
    pub(crate) fn new() -> TestKeys {
        let rng = SystemRandom::new();
        let ec_pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let ed_pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        TestKeys {
            rsa: RsaKeyPair::from_pkcs8(RSA_PKCS8).unwrap(),
            ec: EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, ec_pkcs8.as_ref(), &rng)
                .unwrap(),
            ed: Ed25519KeyPair::from_pkcs8(ed_pkcs8.as_ref()).unwrap(),
            rng,
        }
    }

    pub(crate) fn rsa_n(&self) -> String {
        let public = RsaPublicKeyComponents::<Vec<u8>>::from(self.rsa.public());
        base64url(&public.n)
    }

    /// The public keys as a provider publishes them: `rsa-1` (RS256), `rsa-pss-1` (the same
    /// key for PS256), `ec-1` (ES256), `ed-1` (Ed25519, no `alg` member).
    pub(crate) fn jwks_json(&self) -> Value {
        let rsa = RsaPublicKeyComponents::<Vec<u8>>::from(self.rsa.public());
        let point = self.ec.public_key().as_ref();
        json!({"keys": [
            {"kty": "RSA", "use": "sig", "kid": "rsa-1", "alg": "RS256",
             "n": base64url(&rsa.n), "e": base64url(&rsa.e)},
            {"kty": "RSA", "kid": "rsa-pss-1", "alg": "PS256",
             "n": base64url(&rsa.n), "e": base64url(&rsa.e)},
            {"kty": "EC", "use": "sig", "kid": "ec-1", "alg": "ES256", "crv": "P-256",
             "x": base64url(&point[1..33]), "y": base64url(&point[33..65])},
            {"kty": "OKP", "kid": "ed-1", "crv": "Ed25519",
             "x": base64url(self.ed.public_key().as_ref())},
        ]})
    }

    /// A token with the header `{"alg", "kid", "typ": "JWT"}`, signed with the key of `alg`.
    pub(crate) fn token(&self, alg: Alg, kid: &str, claims: &Value) -> String {
        let header = json!({"alg": alg.as_str(), "kid": kid, "typ": "JWT"});
        self.sign(alg, &base64url(header.to_string().as_bytes()), claims)
    }

    /// `header.payload.signature` with an encoded header of the test's choosing.
    pub(crate) fn sign(&self, alg: Alg, header_b64: &str, claims: &Value) -> String {
        self.sign_raw(alg, header_b64, claims.to_string().as_bytes())
    }

    pub(crate) fn sign_raw(&self, alg: Alg, header_b64: &str, payload: &[u8]) -> String {
        let input = format!("{header_b64}.{}", base64url(payload));
        let message = input.as_bytes();
        let signature = match alg {
            Alg::Rs256 | Alg::Ps256 => {
                let padding: &'static dyn signature::RsaEncoding = if alg == Alg::Rs256 {
                    &signature::RSA_PKCS1_SHA256
                } else {
                    &signature::RSA_PSS_SHA256
                };
                let mut out = vec![0; self.rsa.public().modulus_len()];
                self.rsa
                    .sign(padding, &self.rng, message, &mut out)
                    .unwrap();
                out
            }
            Alg::Es256 => self.ec.sign(&self.rng, message).unwrap().as_ref().to_vec(),
            Alg::EdDsa => self.ed.sign(message).as_ref().to_vec(),
        };
        format!("{input}.{}", base64url(&signature))
    }
}
