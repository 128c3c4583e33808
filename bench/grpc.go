package main

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// The gRPC peer: google.golang.org/grpc with protobuf messages, without
// code generation (wrapperspb messages and a hand-registered
// grpc.ServiceDesc, which is what protoc-gen-go-grpc would write), one
// ClientConn (one HTTP/2 connection) shared by every caller, as sigoco's
// one Client is. Everything else is gRPC's defaults.
//
//   - Add takes an Int64Value and returns it plus one: one operand where
//     sigoco's Add has two, so the peer does a little less work.
//   - Echo takes and returns a BytesValue; the caller packs its []int64 as
//     little-endian words and unpacks the reply into a new []int64, which
//     is what sigoco's packed arrays do on the wire (protocol-rpc.md). The
//     server returns the request message as it is (sigoco's server decodes
//     into []int64 and encodes it again: again the peer does less).

// grpcBenchServer is the service's handler type.
type grpcBenchServer interface {
	add(ctx context.Context, in *wrapperspb.Int64Value) (*wrapperspb.Int64Value, error)
	echo(ctx context.Context, in *wrapperspb.BytesValue) (*wrapperspb.BytesValue, error)
}

type grpcBenchImpl struct{}

func (grpcBenchImpl) add(_ context.Context, in *wrapperspb.Int64Value) (*wrapperspb.Int64Value, error) {
	return wrapperspb.Int64(in.GetValue() + 1), nil
}

func (grpcBenchImpl) echo(_ context.Context, in *wrapperspb.BytesValue) (*wrapperspb.BytesValue, error) {
	return in, nil
}

// grpcBenchDesc is the service description protoc-gen-go-grpc would
// generate for
//
//	service Bench {
//	  rpc Add(google.protobuf.Int64Value) returns (google.protobuf.Int64Value);
//	  rpc Echo(google.protobuf.BytesValue) returns (google.protobuf.BytesValue);
//	}
var grpcBenchDesc = grpc.ServiceDesc{
	ServiceName: "bench.Bench",
	HandlerType: (*grpcBenchServer)(nil),
	Methods: []grpc.MethodDesc{
		{MethodName: "Add", Handler: grpcAddHandler},
		{MethodName: "Echo", Handler: grpcEchoHandler},
	},
	Streams:  []grpc.StreamDesc{},
	Metadata: "bench.proto",
}

func grpcAddHandler(srv any, ctx context.Context, dec func(any) error, icpt grpc.UnaryServerInterceptor) (any, error) {
	in := new(wrapperspb.Int64Value)
	if err := dec(in); err != nil {
		return nil, err
	}
	if icpt == nil {
		return srv.(grpcBenchServer).add(ctx, in)
	}
	info := &grpc.UnaryServerInfo{Server: srv, FullMethod: "/bench.Bench/Add"}
	return icpt(ctx, in, info, func(ctx context.Context, req any) (any, error) {
		return srv.(grpcBenchServer).add(ctx, req.(*wrapperspb.Int64Value))
	})
}

func grpcEchoHandler(srv any, ctx context.Context, dec func(any) error, icpt grpc.UnaryServerInterceptor) (any, error) {
	in := new(wrapperspb.BytesValue)
	if err := dec(in); err != nil {
		return nil, err
	}
	if icpt == nil {
		return srv.(grpcBenchServer).echo(ctx, in)
	}
	info := &grpc.UnaryServerInfo{Server: srv, FullMethod: "/bench.Bench/Echo"}
	return icpt(ctx, in, info, func(ctx context.Context, req any) (any, error) {
		return srv.(grpcBenchServer).echo(ctx, req.(*wrapperspb.BytesValue))
	})
}

// grpcPeer is a gRPC server on loopback and one client connection to it.
type grpcPeer struct {
	srv  *grpc.Server
	conn *grpc.ClientConn
	wg   sync.WaitGroup
}

func startGRPC() (*grpcPeer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	g := &grpcPeer{srv: grpc.NewServer()}
	g.srv.RegisterService(&grpcBenchDesc, grpcBenchImpl{})
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		g.srv.Serve(ln)
	}()
	if g.conn, err = grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials())); err != nil {
		g.close()
		return nil, err
	}
	return g, nil
}

func (g *grpcPeer) close() {
	if g.conn != nil {
		g.conn.Close()
	}
	g.srv.Stop()
	g.wg.Wait()
}

func (g *grpcPeer) add(ctx context.Context) error {
	out := new(wrapperspb.Int64Value)
	if err := g.conn.Invoke(ctx, "/bench.Bench/Add", wrapperspb.Int64(2), out); err != nil {
		return err
	}
	if out.GetValue() != 3 {
		return errors.New("grpc: wrong sum")
	}
	return nil
}

func (g *grpcPeer) echo(ctx context.Context, x []int64) ([]int64, error) {
	b := make([]byte, 8*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(v))
	}
	out := new(wrapperspb.BytesValue)
	if err := g.conn.Invoke(ctx, "/bench.Bench/Echo", wrapperspb.Bytes(b), out); err != nil {
		return nil, err
	}
	r := out.GetValue()
	if len(r)%8 != 0 {
		return nil, errors.New("grpc: echo reply is not whole words")
	}
	y := make([]int64, len(r)/8)
	for i := range y {
		y[i] = int64(binary.LittleEndian.Uint64(r[8*i:]))
	}
	return y, nil
}
