// Synthetic BTF for the ksyms tests, written with libbpf's BTF writer so
// the tests need no kernel. Layout of struct outer (128 bytes):
//
//   struct inner { u64 nr; int arr[4]; };                  // 24 bytes
//   struct outer {
//     int a;                                   // 0
//     union { u64 u_b; struct { u32 lo; u32 hi; }; };      // 8
//     struct inner in;                         // 16
//     struct inner ins[2];                     // 40
//     unsigned int bf1:3, bf2:5;               // 88 (bits 704, 707)
//     enum state st;                           // 92
//     char name[16];                           // 96
//     struct inner *ptr;                       // 112
//     int sbf:4;                               // 120 (bit 960)
//     _Bool flag;                              // 124
//   };
#pragma once

#include <bpf/btf.h>
#include <linux/btf.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace ktstr::ksyms::test {

// Aborts the test binary on a writer error: the fixture itself is broken.
inline int must(int id, const char* what) {
  if (id < 0) throw std::runtime_error(std::string("building test BTF: ") + what);
  return id;
}

struct TestBtf {
  std::vector<uint8_t> bytes;
  int int_t = 0, uint_t = 0, u64_base = 0, char_t = 0, bool_t = 0, u64_t = 0, u32_t = 0;
  int int4 = 0, inner = 0, anon_struct = 0, anon_union = 0, inner2 = 0, state = 0;
  int char16 = 0, inner_ptr = 0, outer = 0, big = 0, int2x4 = 0;
  int s16 = 0, s8 = 0, u128 = 0, f32 = 0, f64 = 0, const_int = 0, fwd = 0, fwd_ptr = 0;
  int proto = 0, proto_ptr = 0, kinds = 0, var_counter = 0, var_label = 0, bss = 0;
};

// struct kinds (72 bytes): s16 @0, s8 @2, flag(_Bool) @3, c(const int) @4,
// f(float) @8, d(double) @16, wide(u128) @24, opaque(fwd *) @40,
// fn(int (*)(int)) @48, bg(enum big) @56, st(enum state) @64.
// .bss (24 bytes): u64 counter @0, char label[16] @8.
inline TestBtf build_test_btf() {
  TestBtf t;
  btf* b = btf__new_empty();
  if (!b) throw std::runtime_error("btf__new_empty failed");
  t.int_t = must(btf__add_int(b, "int", 4, BTF_INT_SIGNED), "int");
  t.uint_t = must(btf__add_int(b, "unsigned int", 4, 0), "uint");
  t.u64_base = must(btf__add_int(b, "long long unsigned int", 8, 0), "u64 base");
  t.char_t = must(btf__add_int(b, "char", 1, BTF_INT_SIGNED), "char");
  t.bool_t = must(btf__add_int(b, "_Bool", 1, BTF_INT_BOOL), "bool");
  t.u64_t = must(btf__add_typedef(b, "u64", t.u64_base), "u64");
  t.u32_t = must(btf__add_typedef(b, "u32", t.uint_t), "u32");
  t.int4 = must(btf__add_array(b, t.uint_t, t.int_t, 4), "int[4]");

  t.inner = must(btf__add_struct(b, "inner", 24), "inner");
  must(btf__add_field(b, "nr", t.u64_t, 0, 0), "inner.nr");
  must(btf__add_field(b, "arr", t.int4, 64, 0), "inner.arr");

  t.anon_struct = must(btf__add_struct(b, nullptr, 8), "anon struct");
  must(btf__add_field(b, "lo", t.u32_t, 0, 0), "lo");
  must(btf__add_field(b, "hi", t.u32_t, 32, 0), "hi");
  t.anon_union = must(btf__add_union(b, nullptr, 8), "anon union");
  must(btf__add_field(b, "u_b", t.u64_t, 0, 0), "u_b");
  must(btf__add_field(b, nullptr, t.anon_struct, 0, 0), "anon member");

  t.inner2 = must(btf__add_array(b, t.uint_t, t.inner, 2), "inner[2]");
  t.state = must(btf__add_enum(b, "state", 4), "enum state");
  must(btf__add_enum_value(b, "ST_IDLE", 0), "ST_IDLE");
  must(btf__add_enum_value(b, "ST_RUN", 1), "ST_RUN");
  must(btf__add_enum_value(b, "ST_NEG", -2), "ST_NEG");
  t.char16 = must(btf__add_array(b, t.uint_t, t.char_t, 16), "char[16]");
  t.inner_ptr = must(btf__add_ptr(b, t.inner), "inner *");

  t.outer = must(btf__add_struct(b, "outer", 128), "outer");
  must(btf__add_field(b, "a", t.int_t, 0, 0), "a");
  must(btf__add_field(b, nullptr, t.anon_union, 64, 0), "anon union member");
  must(btf__add_field(b, "in", t.inner, 128, 0), "in");
  must(btf__add_field(b, "ins", t.inner2, 320, 0), "ins");
  must(btf__add_field(b, "bf1", t.uint_t, 704, 3), "bf1");
  must(btf__add_field(b, "bf2", t.uint_t, 707, 5), "bf2");
  must(btf__add_field(b, "st", t.state, 736, 0), "st");
  must(btf__add_field(b, "name", t.char16, 768, 0), "name");
  must(btf__add_field(b, "ptr", t.inner_ptr, 896, 0), "ptr");
  must(btf__add_field(b, "sbf", t.int_t, 960, 4), "sbf");
  must(btf__add_field(b, "flag", t.bool_t, 992, 0), "flag");

  t.big = must(btf__add_enum64(b, "big", 8, false), "enum big");
  must(btf__add_enum64_value(b, "BIG_LOW", 7), "BIG_LOW");
  must(btf__add_enum64_value(b, "BIG_HI", uint64_t(1) << 63), "BIG_HI");
  t.int2x4 = must(btf__add_array(b, t.uint_t, t.int4, 2), "int[2][4]");

  t.s16 = must(btf__add_int(b, "short int", 2, BTF_INT_SIGNED), "short");
  t.s8 = must(btf__add_int(b, "signed char", 1, BTF_INT_SIGNED), "s8");
  t.u128 = must(btf__add_int(b, "__int128 unsigned", 16, 0), "u128");
  t.f32 = must(btf__add_float(b, "float", 4), "float");
  t.f64 = must(btf__add_float(b, "double", 8), "double");
  t.const_int = must(btf__add_const(b, t.int_t), "const int");
  t.fwd = must(btf__add_fwd(b, "opaque", BTF_FWD_STRUCT), "fwd");
  t.fwd_ptr = must(btf__add_ptr(b, t.fwd), "fwd *");
  t.proto = must(btf__add_func_proto(b, t.int_t), "proto");
  must(btf__add_func_param(b, "x", t.int_t), "param");
  t.proto_ptr = must(btf__add_ptr(b, t.proto), "proto *");

  t.kinds = must(btf__add_struct(b, "kinds", 72), "kinds");
  must(btf__add_field(b, "s16", t.s16, 0, 0), "s16");
  must(btf__add_field(b, "s8", t.s8, 16, 0), "s8");
  must(btf__add_field(b, "flag", t.bool_t, 24, 0), "flag");
  must(btf__add_field(b, "c", t.const_int, 32, 0), "c");
  must(btf__add_field(b, "f", t.f32, 64, 0), "f");
  must(btf__add_field(b, "d", t.f64, 128, 0), "d");
  must(btf__add_field(b, "wide", t.u128, 192, 0), "wide");
  must(btf__add_field(b, "opaque", t.fwd_ptr, 320, 0), "opaque");
  must(btf__add_field(b, "fn", t.proto_ptr, 384, 0), "fn");
  must(btf__add_field(b, "bg", t.big, 448, 0), "bg");
  must(btf__add_field(b, "st", t.state, 512, 0), "st");

  t.var_counter = must(btf__add_var(b, "counter", BTF_VAR_GLOBAL_ALLOCATED, t.u64_t), "counter");
  t.var_label = must(btf__add_var(b, "label", BTF_VAR_GLOBAL_ALLOCATED, t.char16), "label");
  t.bss = must(btf__add_datasec(b, ".bss", 24), ".bss");
  must(btf__add_datasec_var_info(b, t.var_counter, 0, 8), "counter info");
  must(btf__add_datasec_var_info(b, t.var_label, 8, 16), "label info");

  uint32_t size = 0;
  auto* raw = static_cast<const uint8_t*>(btf__raw_data(b, &size));
  if (!raw) throw std::runtime_error("btf__raw_data failed");
  t.bytes.assign(raw, raw + size);
  btf__free(b);
  return t;
}

// Writes `v` little-endian at `offset`.
template <typename T>
void put(std::vector<uint8_t>& buf, size_t offset, T v) {
  for (size_t i = 0; i < sizeof(T); ++i) buf.at(offset + i) = uint8_t(uint64_t(v) >> (8 * i));
}

}  // namespace ktstr::ksyms::test
