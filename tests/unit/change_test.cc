// pgcdc::Change, the flat record: accessors, copies and moves, the relation it keeps,
// arrays, and agreement with its protobuf form. Records come from hand-built pgoutput
// bytes through ChangeAssembler, as the stream builds them.
#include "pgcdc/change.h"

#include <deque>
#include <string>
#include <utility>

#include "assembly/change_assembler.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "pgcdc/v1/change.pb.h"
#include "unit/testing/pgoutput_builder.h"

namespace pgcdc::internal {
namespace {

constexpr uint32_t kRel = 16384;

class ChangeTest : public ::testing::Test {
 protected:
  void Feed(std::string payload, uint64_t lsn = 0x100) {
    payloads_.push_back(std::move(payload));
    const absl::Status s = assembler_.Process(XLogData{lsn, lsn, 0, payloads_.back()}, &ready_);
    ASSERT_TRUE(s.ok()) << s;
  }
  // t(id int4 key, tags _int4, note text[, extra int8])
  void Relation(bool extra = false) {
    PgoutputBuilder b;
    b.Byte('R').U32(kRel).CString("public").CString("t").Byte('f').U16(extra ? 4 : 3);
    b.U8(1).CString("id").U32(23).I32(-1);
    b.U8(0).CString("tags").U32(1007).I32(-1);
    b.U8(0).CString("note").U32(25).I32(-1);
    if (extra) b.U8(0).CString("extra").U32(20).I32(-1);
    Feed(std::move(b).str());
  }
  void Begin() { Feed(PgoutputBuilder().Byte('B').Lsn(0x900).Timestamp(0).U32(5).str()); }
  void Commit() {
    Feed(PgoutputBuilder().Byte('C').U8(0).Lsn(0x900).Lsn(0x930).Timestamp(0).str());
  }

  ChangeAssembler assembler_{2};
  std::deque<Change> ready_;
  std::deque<std::string> payloads_;
};

TEST_F(ChangeTest, ArraysKeepDimensionsBoundsAndRowMajorElements) {
  Relation();
  Begin();
  Feed(PgoutputBuilder()
           .Byte('I')
           .U32(kRel)
           .Byte('N')
           .U16(3)
           .Text("1")
           .Text("[0:1][5:7]={{1,2,3},{4,NULL,6}}")
           .Text("n")
           .str());
  Commit();
  ASSERT_EQ(ready_.size(), 1u);
  const Value tags = ready_[0].new_row()[1].value();
  ASSERT_EQ(tags.kind(), ValueKind::kArray);
  const Array a = tags.array_value();
  EXPECT_EQ(a.element_type_oid(), 23u);
  ASSERT_EQ(a.dimensions(), 2);
  EXPECT_EQ(a.length(0), 2);
  EXPECT_EQ(a.length(1), 3);
  EXPECT_EQ(a.lower_bound(0), 0);
  EXPECT_EQ(a.lower_bound(1), 5);
  ASSERT_EQ(a.size(), 6u);
  EXPECT_EQ(a[0].int_value(), 1);
  EXPECT_EQ(a[2].int_value(), 3);
  EXPECT_TRUE(a[4].is_null());
  EXPECT_EQ(a[5].int_value(), 6);
  // The column after the array is still its own (array slots follow the row's).
  EXPECT_EQ(ready_[0].new_row()[2].value().text_value(), "n");

  v1::Change expected;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(R"pb(
                                                              id: "0000000000000900-00000000"
                                                              op: OPERATION_INSERT
                                                              schema: "public"
                                                              table: "t"
                                                              new_row {
                                                                columns {
                                                                  name: "id"
                                                                  type_oid: 23
                                                                  key: true
                                                                  type_modifier: -1
                                                                  value { int_value: 1 }
                                                                }
                                                                columns {
                                                                  name: "tags"
                                                                  type_oid: 1007
                                                                  type_modifier: -1
                                                                  value {
                                                                    array_value {
                                                                      elements {
                                                                        array_value {
                                                                          elements { int_value: 1 }
                                                                          elements { int_value: 2 }
                                                                          elements { int_value: 3 }
                                                                          element_type_oid: 23
                                                                        }
                                                                      }
                                                                      elements {
                                                                        array_value {
                                                                          elements { int_value: 4 }
                                                                          elements { null {} }
                                                                          elements { int_value: 6 }
                                                                          element_type_oid: 23
                                                                        }
                                                                      }
                                                                      lower_bounds: 0
                                                                      lower_bounds: 5
                                                                      element_type_oid: 23
                                                                    }
                                                                  }
                                                                }
                                                                columns {
                                                                  name: "note"
                                                                  type_oid: 25
                                                                  type_modifier: -1
                                                                  value { text_value: "n" }
                                                                }
                                                              }
                                                              lsn: 0x100
                                                              commit_lsn: 0x900
                                                              end_lsn: 0x930
                                                              xid: 5
                                                              commit_time_us: 946684800000000
                                                              last_in_transaction: true
                                                              relation_oid: 16384)pb",
                                                            &expected));
  const v1::Change proto = ready_[0].ToProto();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(expected, proto))
      << proto.ShortDebugString();
}

TEST_F(ChangeTest, RecordKeepsTheRelationItWasDecodedWith) {
  Relation();
  Begin();
  Feed(PgoutputBuilder().Byte('I').U32(kRel).Byte('N').U16(3).Text("1").Null().Text("a").str());
  Relation(/*extra=*/true);  // ALTER TABLE inside the transaction
  Feed(PgoutputBuilder()
           .Byte('I')
           .U32(kRel)
           .Byte('N')
           .U16(4)
           .Text("2")
           .Null()
           .Text("b")
           .Text("9")
           .str());
  Commit();
  ASSERT_EQ(ready_.size(), 2u);
  EXPECT_EQ(ready_[0].new_row().size(), 3u);
  EXPECT_FALSE(ready_[0].new_row().Find("extra").has_value());
  ASSERT_EQ(ready_[1].new_row().size(), 4u);
  EXPECT_EQ(ready_[1].new_row().Find("extra")->value().int_value(), 9);
  EXPECT_EQ(ready_[1].new_row()[3].type_oid(), 20u);
  // columns() describes the table each record was decoded with.
  ASSERT_EQ(ready_[0].columns().size(), 3u);
  ASSERT_EQ(ready_[1].columns().size(), 4u);
  EXPECT_EQ(ready_[1].columns()[3].name, "extra");
  EXPECT_EQ(ready_[1].columns()[3].type_oid, 20u);
  EXPECT_TRUE(ready_[1].columns()[0].key);
  EXPECT_FALSE(ready_[1].columns()[1].key);
}

TEST_F(ChangeTest, CopiesAreDeepAndViewsSurviveMoves) {
  Relation();
  Begin();
  Feed(PgoutputBuilder()
           .Byte('U')
           .U32(kRel)
           .Byte('O')
           .U16(3)
           .Text("1")
           .Text("{7}")
           .Text("old")
           .Byte('N')
           .U16(3)
           .Text("1")
           .Text("{8}")
           .Unchanged()
           .str());
  Commit();
  ASSERT_EQ(ready_.size(), 1u);
  Change original = std::move(ready_[0]);
  // REPLICA IDENTITY FULL: the unchanged TOAST value is taken from the old row.
  EXPECT_EQ(original.old_row_kind(), OldRowKind::kFull);
  EXPECT_EQ(original.new_row()[2].value().text_value(), "old");

  const Value note = original.new_row()[2].value();
  Change moved = std::move(original);
  EXPECT_EQ(note.text_value(), "old");  // the storage moved with the record
  Change copy = moved;
  moved = Change();
  EXPECT_EQ(copy.new_row()[1].value().array_value()[0].int_value(), 8);
  EXPECT_EQ(copy.old_row()[1].value().array_value()[0].int_value(), 7);
  EXPECT_EQ(copy.id(), "0000000000000900-00000000");
  // A default-constructed (or moved-from) record reads as empty.
  EXPECT_TRUE(moved.new_row().empty());
  EXPECT_EQ(moved.schema(), "");
  EXPECT_GT(copy.ByteSize(), sizeof(Change));
}

TEST_F(ChangeTest, AccessorsOfAnotherKindReturnZeroValues) {
  Relation();
  Begin();
  Feed(PgoutputBuilder().Byte('I').U32(kRel).Byte('N').U16(3).Text("1").Null().Text("x").str());
  Commit();
  const Value id = ready_[0].new_row()[0].value();
  EXPECT_EQ(id.int_value(), 1);
  EXPECT_EQ(id.text_value(), "");
  EXPECT_EQ(id.float_value(), 0.0);
  EXPECT_EQ(id.date_value().days, 0);
  EXPECT_EQ(id.array_value().size(), 0u);
  EXPECT_EQ(id.array_value().dimensions(), 0);
  const Value text = ready_[0].new_row()[2].value();
  EXPECT_EQ(text.int_value(), 0);
  EXPECT_EQ(text.data(), "x");
  EXPECT_TRUE(ready_[0].new_row()[1].value().is_null());
  EXPECT_TRUE(Value().is_null());
}

}  // namespace
}  // namespace pgcdc::internal
