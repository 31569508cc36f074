// Decode and record-build cost per change for the row shape of ../shared/bench
// (orders: bigint, int, numeric(12,2), text, text[], jsonb, timestamptz, text).
//   build/bench/decoder_benchmark --benchmark_min_time=2
#include <deque>

#include "assembly/change_assembler.h"
#include "benchmark/benchmark.h"
#include "pgcdc/change.h"
#include "pgcdc/v1/change.pb.h"
#include "protocol/pgoutput_decoder.h"
#include "unit/testing/pgoutput_builder.h"

namespace pgcdc::internal {
namespace {

constexpr uint32_t kRelation = 16384;

std::string RelationMessage() {
  PgoutputBuilder b;
  b.Byte('R').U32(kRelation).CString("public").CString("orders").Byte('d').U16(8);
  const std::pair<const char*, uint32_t> columns[] = {
      {"id", 20},     {"customer_id", 23}, {"amount", 1700},     {"status", 25},
      {"tags", 1009}, {"payload", 3802},   {"created_at", 1184}, {"note", 25}};
  for (const auto& [name, oid] : columns) {
    b.U8(std::string_view(name) == "id" ? 1 : 0).CString(name).U32(oid).I32(-1);
  }
  return std::move(b).str();
}

std::string InsertMessage() {
  return PgoutputBuilder()
      .Byte('I')
      .U32(kRelation)
      .Byte('N')
      .U16(8)
      .Text("123457")
      .Text("4711")
      .Text("1234.56")
      .Text("shipped")
      .Text("{region-3,channel-1,std}")
      .Text(
          R"({"sku": "SKU-1234", "qty": 3, "ship": {"city": "City 42", "zip": "04211"}, "gift": false})")
      .Text("2024-03-05 13:45:00.123456+00")
      .Text("order note 5d41402abc4b2a76b9719d911017c592")
      .str();
}

XLogData Frame(const std::string& payload, uint64_t lsn) { return XLogData{lsn, lsn, 0, payload}; }

void BM_DecodeInsert(benchmark::State& state) {
  const std::string insert = InsertMessage();
  for (auto _ : state) {
    auto message = DecodePgoutput(insert, 3, false);
    benchmark::DoNotOptimize(message);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecodeInsert);

// pgoutput bytes -> typed pgcdc::Change, the whole per-change path of the stream
// (one 1000-row transaction per batch of iterations).
void BM_BuildChange(benchmark::State& state) {
  const std::string relation = RelationMessage();
  const std::string insert = InsertMessage();
  const std::string begin = PgoutputBuilder().Byte('B').Lsn(1 << 20).Timestamp(0).U32(7).str();
  const std::string commit =
      PgoutputBuilder().Byte('C').U8(0).Lsn(1 << 20).Lsn((1 << 20) + 48).Timestamp(0).str();
  ChangeAssembler assembler(3);
  std::deque<Change> ready;
  (void)assembler.Process(Frame(relation, 0), &ready);
  int64_t n = 0;
  for (auto _ : state) {
    if (n % 1000 == 0) (void)assembler.Process(Frame(begin, 1), &ready);
    if (!assembler.Process(Frame(insert, 100 + n), &ready).ok()) state.SkipWithError("decode");
    if (++n % 1000 == 0) {
      (void)assembler.Process(Frame(commit, 1 << 20), &ready);
      ready.clear();
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BuildChange);

// One decoded bench row, as the stream hands it out.
Change OneChange() {
  ChangeAssembler assembler(3);
  std::deque<Change> ready;
  (void)assembler.Process(Frame(RelationMessage(), 0), &ready);
  (void)assembler.Process(
      Frame(PgoutputBuilder().Byte('B').Lsn(1 << 20).Timestamp(0).U32(7).str(), 1), &ready);
  (void)assembler.Process(Frame(InsertMessage(), 2), &ready);
  (void)assembler.Process(
      Frame(PgoutputBuilder().Byte('C').U8(0).Lsn(1 << 20).Lsn((1 << 20) + 48).Timestamp(0).str(),
            1 << 20),
      &ready);
  return std::move(ready.front());
}

void BM_ChangeToJson(benchmark::State& state) {
  const Change change = OneChange();
  for (auto _ : state) benchmark::DoNotOptimize(ToJson(change));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ChangeToJson);

// What `pgcdc stream --format protobuf` and Python's to_proto() pay on top.
void BM_ChangeToProtobufBytes(benchmark::State& state) {
  const Change change = OneChange();
  for (auto _ : state) benchmark::DoNotOptimize(change.ToProto().SerializeAsString());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ChangeToProtobufBytes);

}  // namespace
}  // namespace pgcdc::internal
