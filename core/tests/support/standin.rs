//! A small stand-in for the zkiris circuit with the same public-input layout (v2,
//! [`zkiris::public`]) in both submission modes: 138 inputs (public-code) or 7 (mpc-shares).
//!
//! It is a real circuit, not a no-op: every public input is copied into an advice cell (so the
//! proof is bound to all of them, the binding row included). In public-code mode each code word
//! is decomposed into bytes (31, or 2 for the last word of a code) with a running sum whose
//! bytes are range-checked by a lookup into a 256-row table, so a word is provably below 2^248
//! (2^16). In mpc-shares mode the share commitments `S_1..S_3` are copied in as they are and
//! one private 16-bit value goes through the same byte decomposition. A
//! per-model constant `tag` sits in a fixed column and enters a gate over the header inputs, so
//! two tags give two different verifying keys (two "models"); the mode changes the copy
//! constraints, so it changes the key too.
//!
//! All in one region (halo2-axiom's SimpleFloorPlanner puts every region at row 0):
//!
//! ```text
//!  header rows            public-code, per word (n = 31 or 2 bytes)   mpc-shares
//!  row | acc        q_hdr   row | acc             byte  q_dec q_first    row | acc
//!   0  | C           1       0  | 0               b_0     1     1         5  | S_1
//!   1  | min_valid           1  | b_0             b_1     1               6  | S_2
//!   2  | τ                   …  | …               …       1               7  | S_3
//!                                                                         8… | private 2-byte word
//!   3  | binding             n  | Σ b_i·256^(n-1-i) = w   0     (copied to the instance)
//!   4  | C·tag + τ
//!  gate "header": q_hdr · (acc[4] − acc[0]·tag − acc[2]) = 0
//!  gate "byte decomposition": q_dec · (acc[+1] − 256·acc − byte) = 0;  q_first · acc = 0
//!  lookup "byte range": q_dec · byte ∈ [0, 256)
//! ```

use halo2_proofs::{
    circuit::{Layouter, SimpleFloorPlanner, Value},
    halo2curves::{
        bn256::Fr,
        ff::{Field, PrimeField},
    },
    plonk::{Advice, Circuit, Column, ConstraintSystem, Error, Fixed, Instance, Selector, TableColumn},
    poly::Rotation,
};
use zkiris::{
    evm::calldata::{registry_layout, CODE_BITS, CODE_WORDS},
    public::{PublicLayout, Submission, HEADER_ROWS},
};

/// Rows needed: k = 13 (8192 rows) holds 5 + 2·(66·32 + 3) = 4235 rows plus the 256-row table.
pub const K: u32 = 13;

#[derive(Clone, Debug)]
pub struct StandInConfig {
    acc: Column<Advice>,
    byte: Column<Advice>,
    tag: Column<Fixed>,
    q_hdr: Selector,
    q_dec: Selector,
    q_first: Selector,
    table: TableColumn,
    instance: Column<Instance>,
}

/// The private 16-bit value the mpc-shares stand-in range-checks.
const PRIVATE_WORD: u16 = 0x1234;

/// The stand-in circuit for model `tag` in `submission` mode, proving `instances` (or none,
/// for keygen).
#[derive(Clone, Debug)]
pub struct StandInCircuit {
    pub tag: u64,
    pub submission: Submission,
    pub instances: Option<Vec<Fr>>,
    /// mpc-shares only: leave out the private range check, so `q_dec` is never enabled (to
    /// show what an all-zero fixed column does to the EVM verifier). Always false otherwise.
    pub skip_private_range_check: bool,
}

impl StandInCircuit {
    pub fn new(tag: u64, submission: Submission, instances: Option<Vec<Fr>>) -> Self {
        Self { tag, submission, instances, skip_private_range_check: false }
    }
}

fn bytes_of_word(index: usize) -> usize {
    // Word `index` of a code holds 31 bytes, the last (index 66) the remaining 2.
    PublicLayout::word_bits(CODE_BITS, index) / 8
}

impl Circuit<Fr> for StandInCircuit {
    type Config = StandInConfig;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = ();

    fn without_witnesses(&self) -> Self {
        Self { instances: None, ..self.clone() }
    }

    fn configure(meta: &mut ConstraintSystem<Fr>) -> StandInConfig {
        let acc = meta.advice_column();
        let byte = meta.advice_column();
        let tag = meta.fixed_column();
        let instance = meta.instance_column();
        meta.enable_equality(acc);
        meta.enable_equality(instance);
        let q_hdr = meta.selector();
        let q_dec = meta.complex_selector();
        let q_first = meta.selector();
        let table = meta.lookup_table_column();

        meta.create_gate("header", |m| {
            let q = m.query_selector(q_hdr);
            let c = m.query_advice(acc, Rotation::cur());
            let tau = m.query_advice(acc, Rotation(2));
            let tagged = m.query_advice(acc, Rotation(4));
            let t = m.query_fixed(tag, Rotation::cur());
            vec![q * (tagged - c * t - tau)]
        });
        meta.create_gate("byte decomposition", |m| {
            let q = m.query_selector(q_dec);
            let first = m.query_selector(q_first);
            let cur = m.query_advice(acc, Rotation::cur());
            let next = m.query_advice(acc, Rotation::next());
            let b = m.query_advice(byte, Rotation::cur());
            vec![q * (next - cur.clone() * Fr::from(256u64) - b), first * cur]
        });
        meta.lookup("byte range", |m| {
            let q = m.query_selector(q_dec);
            let b = m.query_advice(byte, Rotation::cur());
            vec![(q * b, table)]
        });
        StandInConfig { acc, byte, tag, q_hdr, q_dec, q_first, table, instance }
    }

    fn synthesize(&self, config: StandInConfig, mut layouter: impl Layouter<Fr>) -> Result<(), Error> {
        layouter.assign_table(
            || "bytes",
            |mut table| {
                for i in 0..256 {
                    table.assign_cell(|| "byte", config.table, i, || Value::known(Fr::from(i as u64)))?;
                }
                Ok(())
            },
        )?;
        let layout = registry_layout(self.submission);
        let num_instances = layout.len();
        let value = |i: usize| -> Value<Fr> {
            match &self.instances {
                Some(inst) if inst.len() == num_instances => Value::known(inst[i]),
                _ => Value::unknown(),
            }
        };
        let tag = Fr::from(self.tag);
        // halo2-axiom's SimpleFloorPlanner places every region at row 0 (offsets are
        // absolute), so the whole layout is one region with a running row offset.
        let copies = layouter.assign_region(
            || "stand-in",
            |mut region| {
                let mut copies = Vec::with_capacity(num_instances);
                config.q_hdr.enable(&mut region, 0)?;
                region.assign_fixed(config.tag, 0, tag);
                for i in 0..HEADER_ROWS {
                    copies.push((region.assign_advice(config.acc, i, value(i)).cell(), i));
                }
                region.assign_advice(config.acc, HEADER_ROWS, value(0) * Value::known(tag) + value(2));
                let mut row = HEADER_ROWS + 1;
                if self.submission == Submission::MpcShares {
                    // S_1, S_2, S_3: copied in.
                    for index in HEADER_ROWS..num_instances {
                        copies.push((region.assign_advice(config.acc, row, value(index)).cell(), index));
                        row += 1;
                    }
                    // One private 2-byte word through the byte decomposition (the real chip
                    // range-checks its private 16-bit share values the same way). It also keeps
                    // `q_dec` in use: a complex selector never enabled is an all-zero fixed
                    // column, and the generated EVM verifier then rejects every proof, although
                    // halo2 verifies it natively (`mpc_verifier_needs_every_fixed_column_used`).
                    if !self.skip_private_range_check {
                        config.q_first.enable(&mut region, row)?;
                        let mut acc = Value::known(Fr::ZERO);
                        region.assign_advice(config.acc, row, acc);
                        for (i, b) in PRIVATE_WORD.to_be_bytes().into_iter().enumerate() {
                            config.q_dec.enable(&mut region, row + i)?;
                            let b = Value::known(Fr::from(u64::from(b)));
                            region.assign_advice(config.byte, row + i, b);
                            acc = acc * Value::known(Fr::from(256u64)) + b;
                            region.assign_advice(config.acc, row + i + 1, acc);
                        }
                    }
                    return Ok(copies);
                }
                for index in layout.first_iris_word()..num_instances {
                    let n = bytes_of_word((index - layout.first_iris_word()) % CODE_WORDS);
                    let be = value(index).map(|w| {
                        let mut le = w.to_repr();
                        le.reverse();
                        le
                    });
                    config.q_first.enable(&mut region, row)?;
                    let mut acc = Value::known(Fr::ZERO);
                    region.assign_advice(config.acc, row, acc);
                    for i in 0..n {
                        config.q_dec.enable(&mut region, row + i)?;
                        let b = be.map(|be| Fr::from(u64::from(be[32 - n + i])));
                        region.assign_advice(config.byte, row + i, b);
                        acc = acc * Value::known(Fr::from(256u64)) + b;
                        let cell = region.assign_advice(config.acc, row + i + 1, acc);
                        if i + 1 == n {
                            copies.push((cell.cell(), index));
                        }
                    }
                    row += n + 1;
                }
                Ok(copies)
            },
        )?;
        for (cell, row) in copies {
            layouter.constrain_instance(cell, config.instance, row);
        }
        Ok(())
    }
}
