//! A small stand-in for the zkiris circuit with the same public-input layout (v1).
//!
//! It is a real circuit, not a no-op: every one of the 137 public inputs is copied into an
//! advice cell, and each code word is decomposed into bytes (31, or 2 for the last word of a
//! code) with a running sum whose bytes are range-checked by a lookup into a 256-row table, so
//! a word is provably below 2^248 (2^16). A per-model constant `tag` sits in a fixed column and
//! enters a gate over the header inputs, so two tags give two different verifying keys (two
//! "models").
//!
//! All in one region (halo2-axiom's SimpleFloorPlanner puts every region at row 0):
//!
//! ```text
//!  header rows            then per word (n = 31 or 2 bytes)
//!  row | acc        q_hdr   row | acc             byte  q_dec q_first
//!   0  | C           1       0  | 0               b_0     1     1
//!   1  | min_valid           1  | b_0             b_1     1
//!   2  | τ                   …  | …               …       1
//!   3  | C·tag + τ           n  | Σ b_i·256^(n-1-i) = w   0     (copied to the instance)
//!  gate "header": q_hdr · (acc[3] − acc[0]·tag − acc[2]) = 0
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
use zkiris::evm::calldata::{CODE_BYTES, CODE_WORDS, INSTANCE_CODE, NUM_INSTANCES, WORD_BYTES};

/// Rows needed: k = 13 (8192 rows) holds 4 + 2·(66·32 + 3) = 4234 rows plus the 256-row table.
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

/// The stand-in circuit for model `tag`, proving `instances` (or none, for keygen).
#[derive(Clone, Debug)]
pub struct StandInCircuit {
    pub tag: u64,
    pub instances: Option<Vec<Fr>>,
}

fn bytes_of_word(index: usize) -> usize {
    // Word `index` of a code holds 31 bytes, the last (index 66) the remaining 2.
    (CODE_BYTES - index * WORD_BYTES).min(WORD_BYTES)
}

impl Circuit<Fr> for StandInCircuit {
    type Config = StandInConfig;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = ();

    fn without_witnesses(&self) -> Self {
        Self { tag: self.tag, instances: None }
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
            let bind = m.query_advice(acc, Rotation(3));
            let t = m.query_fixed(tag, Rotation::cur());
            vec![q * (bind - c * t - tau)]
        });
        meta.create_gate("byte decomposition", |m| {
            let q = m.query_selector(q_dec);
            let first = m.query_selector(q_first);
            let cur = m.query_advice(acc, Rotation::cur());
            let next = m.query_advice(acc, Rotation::next());
            let b = m.query_advice(byte, Rotation::cur());
            vec![
                q * (next - cur.clone() * Fr::from(256u64) - b),
                first * cur,
            ]
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
        let value = |i: usize| -> Value<Fr> {
            match &self.instances {
                Some(inst) if inst.len() == NUM_INSTANCES => Value::known(inst[i]),
                _ => Value::unknown(),
            }
        };
        let tag = Fr::from(self.tag);
        // halo2-axiom's SimpleFloorPlanner places every region at row 0 (offsets are
        // absolute), so the whole layout is one region with a running row offset.
        let copies = layouter.assign_region(
            || "stand-in",
            |mut region| {
                let mut copies = Vec::with_capacity(NUM_INSTANCES);
                config.q_hdr.enable(&mut region, 0)?;
                region.assign_fixed(config.tag, 0, tag);
                for i in 0..3 {
                    copies.push((region.assign_advice(config.acc, i, value(i)).cell(), i));
                }
                region.assign_advice(config.acc, 3, value(0) * Value::known(tag) + value(2));
                let mut row = 4;
                for index in INSTANCE_CODE..NUM_INSTANCES {
                    let n = bytes_of_word((index - INSTANCE_CODE) % CODE_WORDS);
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
