//! Seeded smoke runs of the fuzz targets in `fuzz/` on the stable toolchain: parsers fed with
//! mutated valid inputs and random bytes must return errors, never panic.

#[cfg(test)]
mod tests {
    use crate::httpsig;
    use crate::ledger::{Amount, Scale};

    /// A small deterministic generator (no dependency, reproducible failures).
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        /// `seed` with a few bytes changed, inserted or removed.
        fn mutate(&mut self, seed: &[u8]) -> Vec<u8> {
            let mut v = seed.to_vec();
            for _ in 0..1 + self.below(4) {
                let alphabet = b"()\";=:,-_ 0123456789abcdefAZ.\\@\x00\xff";
                let byte = alphabet[self.below(alphabet.len())];
                match self.below(3) {
                    0 if !v.is_empty() => {
                        let i = self.below(v.len());
                        v[i] = byte;
                    }
                    1 => {
                        let i = self.below(v.len() + 1);
                        v.insert(i, byte);
                    }
                    _ if !v.is_empty() => {
                        let i = self.below(v.len());
                        v.remove(i);
                    }
                    _ => {}
                }
            }
            v
        }
    }

    const ROUNDS: usize = 20_000;

    #[test]
    fn signature_headers_never_panic() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let input = br#"sig1=("@method" "@target-uri" "content-digest");created=1618884473;keyid="k-1";alg="ed25519""#;
        let signature = b"sig1=:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=:";
        for _ in 0..ROUNDS {
            let i = String::from_utf8_lossy(&rng.mutate(input)).into_owned();
            let s = String::from_utf8_lossy(&rng.mutate(signature)).into_owned();
            let _ = httpsig::parse(&i, &s);
            let _ = httpsig::check_content_digest(&s, i.as_bytes());
        }
    }

    #[test]
    fn amounts_never_panic_and_round_trip() {
        let mut rng = Rng(42);
        for _ in 0..ROUNDS {
            let scale = Scale::new((rng.next() % 9) as u32).unwrap();
            let seed = ["12.50", "-0.01", "92233720368547758.07", "0", "1e3"][rng.below(5)];
            let text = String::from_utf8_lossy(&rng.mutate(seed.as_bytes())).into_owned();
            if let Ok(a) = Amount::parse(&text, scale) {
                assert_eq!(Amount::parse(&a.to_string(), scale), Ok(a), "{text}");
            }
        }
    }

    #[test]
    fn manifests_never_panic() {
        let dir =
            std::env::temp_dir().join(format!("coalition-fuzz-smoke-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let network = b"name = \"N\"\nsettlement_currency = \"ILS\"\n[[units]]\ncode = \"COAL\"\nscale = 0\nvalue = \"0.05\"\n";
        let partner = b"id = \"fuzzed\"\nname = \"F\"\n[unit]\ncode = \"FZ\"\nscale = 0\nvalue = \"0.04\"\n[earn]\nrate = \"1\"\n";
        let mut rng = Rng(7);
        for _ in 0..2_000 {
            std::fs::write(dir.join("network.toml"), rng.mutate(network)).unwrap();
            std::fs::write(dir.join("fuzzed.toml"), rng.mutate(partner)).unwrap();
            let _ = crate::partners::Network::load(&dir);
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}
