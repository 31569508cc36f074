"""The record format: pgcdc.v1.change_pb2 (generated at build time from
proto/pgcdc/v1/change.proto by the protoc that builds the C++ library).

    from pgcdc.v1 import change_pb2
    message = change.to_proto()          # a change_pb2.Change
"""
