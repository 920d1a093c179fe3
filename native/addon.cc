// The addon's exports: thin wrappers that unpack arguments and call the kernels.
// Argument checking (shapes, dtypes, index ranges) happens in TypeScript before
// these are called (src/backend/native.ts); here we only convert.
#include <napi.h>
#include <v8.h>

#include <string>
#include <vector>

#include "allocator.h"
#include "cpu.h"
#include "kernels/conv.h"
#include "kernels/elementwise.h"
#include "kernels/gemm.h"
#include "kernels/movement.h"
#include "kernels/norm.h"
#include "kernels/optim.h"
#include "kernels/pool.h"
#include "kernels/reduce.h"
#include "kernels/strided.h"
#include "kernels/winograd.h"
#include "threadpool.h"

namespace {

using namespace tsv;

template <typename T>
T* data(const Napi::Value& v) {
  Napi::TypedArray a = v.As<Napi::TypedArray>();
  return reinterpret_cast<T*>(static_cast<uint8_t*>(a.ArrayBuffer().Data()) + a.ByteOffset());
}

template <typename T>
T* data_or_null(const Napi::Value& v) {
  return v.IsNull() || v.IsUndefined() ? nullptr : data<T>(v);
}

int64_t i64(const Napi::Value& v) { return v.As<Napi::Number>().Int64Value(); }
float f32(const Napi::Value& v) { return v.As<Napi::Number>().FloatValue(); }
bool boolean(const Napi::Value& v) { return v.As<Napi::Boolean>().Value(); }

// A small array of integers (a shape or strides) from a JS array.
struct Dims {
  int n = 0;
  int64_t v[kMaxDims];
  explicit Dims(const Napi::Value& value) {
    Napi::Array a = value.As<Napi::Array>();
    n = static_cast<int>(a.Length());
    if (n > kMaxDims) throw Napi::RangeError::New(value.Env(), "tsvision: at most 12 dimensions");
    for (int i = 0; i < n; i++) v[i] = a.Get(i).As<Napi::Number>().Int64Value();
  }
};

// ---- memory ---------------------------------------------------------------

// Tensor storage is an ArrayBuffer over a block of the caching allocator, made
// with V8's own API rather than napi_create_external_arraybuffer: N-API runs
// that finalizer from the event loop, so a synchronous training loop (which
// never yields) would never return a block. V8 calls this deleter when the
// garbage collector frees the buffer (possibly on a sweeper thread; the
// allocator is thread-safe), and counts the bytes as external memory, so
// allocation pressure schedules collections as it does for JS typed arrays.
void delete_block(void* data, size_t, void* capacity) {
  cached_free(data, reinterpret_cast<size_t>(capacity));
}

// alloc(dtype, n): an uninitialised typed array (0 float32, 1 int32, 2 uint8).
Napi::Value Alloc(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int dtype = static_cast<int>(i64(info[0]));
  size_t n = static_cast<size_t>(i64(info[1]));
  size_t bytes = n * (dtype == 2 ? 1 : 4);
  size_t capacity = 0;
  void* p;
  try {
    p = cached_alloc(bytes, &capacity);
  } catch (const std::bad_alloc&) {
    throw Napi::RangeError::New(env, "tsvision: out of memory allocating " + std::to_string(bytes) + " bytes");
  }
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  std::unique_ptr<v8::BackingStore> store =
      v8::ArrayBuffer::NewBackingStore(p, bytes, delete_block, reinterpret_cast<void*>(capacity));
  v8::Local<v8::ArrayBuffer> ab = v8::ArrayBuffer::New(isolate, std::move(store));
  // A napi_value is a pointer to a V8 handle slot (Node's JsValueFromV8LocalValue).
  Napi::ArrayBuffer buf(env, reinterpret_cast<napi_value>(*ab));
  if (dtype == 0) return Napi::Float32Array::New(env, n, buf, 0);
  if (dtype == 1) return Napi::Int32Array::New(env, n, buf, 0);
  return Napi::Uint8Array::New(env, n, buf, 0);
}

Napi::Value AllocatorStatsJs(const Napi::CallbackInfo& info) {
  AllocatorStats s = allocator_stats();
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("liveBytes", double(s.live_bytes));
  o.Set("cachedBytes", double(s.cached_bytes));
  o.Set("hits", double(s.hits));
  o.Set("misses", double(s.misses));
  return o;
}

void EmptyCache(const Napi::CallbackInfo&) { empty_cache(); }
void SetCacheLimit(const Napi::CallbackInfo& info) { set_cache_limit(uint64_t(i64(info[0]))); }

// ---- runtime ---------------------------------------------------------------

Napi::Value NumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), num_threads());
}
void SetNumThreads(const Napi::CallbackInfo& info) { set_num_threads(int(i64(info[0]))); }

Napi::Value IsaName(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), isa_name(active_isa()));
}

void ForceIsa(const Napi::CallbackInfo& info) {
  std::string name = info[0].As<Napi::String>();
  force_isa(name == "avx512" ? Isa::Avx512 : name == "avx2" ? Isa::Avx2 : Isa::Portable);
}

Napi::Value OpNames(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("unary", unary_op_names());
  o.Set("binary", binary_op_names());
  o.Set("compare", compare_op_names());
  o.Set("reduce", reduce_op_names());
  return o;
}

// ---- kernels ---------------------------------------------------------------

void Unary(const Napi::CallbackInfo& info) {
  DenormalScope ds;
  Napi::TypedArray x = info[1].As<Napi::TypedArray>();
  unary(UnaryOp(i64(info[0])), data<float>(info[1]), data<float>(info[2]), int64_t(x.ElementLength()),
        f32(info[3]), f32(info[4]));
}

// unaryBackward(op, x, y | null, gy, dx, p0, p1)
void UnaryBackward(const Napi::CallbackInfo& info) {
  DenormalScope ds;
  Napi::TypedArray gy = info[3].As<Napi::TypedArray>();
  unary_backward(UnaryOp(i64(info[0])), data_or_null<float>(info[1]), data_or_null<float>(info[2]),
                 data<float>(info[3]), data<float>(info[4]), int64_t(gy.ElementLength()),
                 f32(info[5]), f32(info[6]));
}

// binary(op, shape, a, aStrides, b, bStrides, out)
void Binary(const Napi::CallbackInfo& info) {
  DenormalScope ds;
  Dims shape(info[1]), as(info[3]), bs(info[5]);
  binary(BinaryOp(i64(info[0])), shape.n, shape.v, data<float>(info[2]), as.v, data<float>(info[4]),
         bs.v, data<float>(info[6]));
}

void Compare(const Napi::CallbackInfo& info) {
  Dims shape(info[1]), as(info[3]), bs(info[5]);
  compare(CompareOp(i64(info[0])), shape.n, shape.v, data<float>(info[2]), as.v,
          data<float>(info[4]), bs.v, data<uint8_t>(info[6]));
}

// where(shape, cond, cStrides, a, aStrides, b, bStrides, out)
void Where(const Napi::CallbackInfo& info) {
  Dims shape(info[0]), cs(info[2]), as(info[4]), bs(info[6]);
  where(shape.n, shape.v, data<uint8_t>(info[1]), cs.v, data<float>(info[3]), as.v,
        data<float>(info[5]), bs.v, data<float>(info[7]));
}

// reduce(op, x, outer, r, inner, out)
void Reduce(const Napi::CallbackInfo& info) {
  DenormalScope ds;
  reduce(ReduceOp(i64(info[0])), data<float>(info[1]), i64(info[2]), i64(info[3]), i64(info[4]),
         data<float>(info[5]));
}

// argReduce(isMax, x, outer, r, inner, out)
void ArgReduce(const Napi::CallbackInfo& info) {
  arg_reduce(boolean(info[0]), data<float>(info[1]), i64(info[2]), i64(info[3]), i64(info[4]),
             data<int32_t>(info[5]));
}

// softmax(x, outer, r, inner, log, y)
void Softmax(const Napi::CallbackInfo& info) {
  DenormalScope ds;
  softmax(data<float>(info[0]), i64(info[1]), i64(info[2]), i64(info[3]), boolean(info[4]),
          data<float>(info[5]));
}

// softmaxBackward(y, gy, outer, r, inner, log, dx)
void SoftmaxBackward(const Napi::CallbackInfo& info) {
  DenormalScope ds;
  softmax_backward(data<float>(info[0]), data<float>(info[1]), i64(info[2]), i64(info[3]),
                   i64(info[4]), boolean(info[5]), data<float>(info[6]));
}

// copyStrided(shape, src, srcOffset, srcStrides, dst, dstOffset, dstStrides)
void CopyStrided(const Napi::CallbackInfo& info) {
  Dims shape(info[0]), ss(info[3]), dst_s(info[6]);
  Napi::TypedArray src = info[1].As<Napi::TypedArray>();
  int elem = src.TypedArrayType() == napi_uint8_array ? 1 : 4;
  copy_strided(elem, shape.n, shape.v, data<void>(info[1]), i64(info[2]), ss.v, data<void>(info[4]),
               i64(info[5]), dst_s.v);
}

void AddStrided(const Napi::CallbackInfo& info) {
  DenormalScope ds;
  Dims shape(info[0]), ss(info[3]), dst_s(info[6]);
  add_strided(shape.n, shape.v, data<float>(info[1]), i64(info[2]), ss.v, data<float>(info[4]),
              i64(info[5]), dst_s.v);
}

void Fill(const Napi::CallbackInfo& info) {
  Napi::TypedArray out = info[0].As<Napi::TypedArray>();
  fill(data<float>(info[0]), int64_t(out.ElementLength()), f32(info[1]));
}

int dtype_code(const Napi::TypedArray& a) {
  switch (a.TypedArrayType()) {
    case napi_float32_array: return 0;
    case napi_int32_array: return 1;
    default: return 2;
  }
}

void Cast(const Napi::CallbackInfo& info) {
  Napi::TypedArray src = info[0].As<Napi::TypedArray>(), dst = info[1].As<Napi::TypedArray>();
  cast(dtype_code(src), data<void>(info[0]), dtype_code(dst), data<void>(info[1]),
       int64_t(src.ElementLength()));
}

// indexSelect(x, outer, n, inner, idx, out) and the other indexed kernels share a signature.
template <void (*K)(const float*, int64_t, int64_t, int64_t, const int32_t*, int64_t, float*)>
void Indexed(const Napi::CallbackInfo& info) {
  Napi::TypedArray idx = info[4].As<Napi::TypedArray>();
  int64_t outer = i64(info[1]), inner = i64(info[3]);
  int64_t k = int64_t(idx.ElementLength());
  // gather/scatterAdd take an [outer, k, inner] index; indexSelect/indexAdd a [k] one.
  if (K == gather || K == scatter_add) k = (outer * inner) == 0 ? 0 : k / (outer * inner);
  DenormalScope ds;
  K(data<float>(info[0]), outer, i64(info[2]), inner, data<int32_t>(info[4]), k, data<float>(info[5]));
}

// A spatial list (1 to 3 entries) from a geometry object, padded at the front to
// 3 dims with pad_value.
void spatial(const Napi::Object& o, const char* name, int64_t* dst, int64_t pad_value) {
  Dims list(o.Get(name));
  if (list.n < 1 || list.n > 3) throw Napi::RangeError::New(o.Env(), "tsvision: 1 to 3 spatial dimensions");
  for (int a = 0; a < 3; a++) dst[a] = a < 3 - list.n ? pad_value : list.v[a - (3 - list.n)];
}

// A ConvGeometry object from TypeScript, spatial lists padded to 3 dims.
ConvGeom conv_geom(const Napi::Value& v) {
  Napi::Object o = v.As<Napi::Object>();
  ConvGeom g;
  g.n = i64(o.Get("n"));
  g.cin = i64(o.Get("cIn"));
  g.cout = i64(o.Get("cOut"));
  g.groups = i64(o.Get("groups"));
  spatial(o, "inSize", g.in, 1);
  spatial(o, "kernel", g.k, 1);
  spatial(o, "stride", g.s, 1);
  spatial(o, "padding", g.p, 0);
  spatial(o, "dilation", g.d, 1);
  spatial(o, "outSize", g.out, 1);
  return g;
}

// convForward(geom, x, w, bias | null, y, activation op code (-1: none), p0, p1)
// The bias and activation of convForward's arguments 3 and 5-7.
ConvEpilogue epilogue(const Napi::CallbackInfo& info) {
  ConvEpilogue ep;
  ep.bias = info[3].IsNull() ? nullptr : data<float>(info[3]);
  ep.op = static_cast<int>(i64(info[5]));
  if (ep.op >= static_cast<int>(UnaryOp::kCount)) throw Napi::RangeError::New(info.Env(), "convForward: unknown activation op code");
  ep.p0 = static_cast<float>(info[6].As<Napi::Number>().DoubleValue());
  ep.p1 = static_cast<float>(info[7].As<Napi::Number>().DoubleValue());
  return ep;
}

void ConvForward(const Napi::CallbackInfo& info) {
  ConvGeom g = conv_geom(info[0]);
  ConvEpilogue ep = epilogue(info);
  DenormalScope ds;
  conv_forward(g, data<float>(info[1]), data<float>(info[2]), ep, data<float>(info[4]));
}

// winogradWeights(cout, cin, w, u): u [36, cout, cin] from w [cout, cin, 3, 3]
void WinogradWeights(const Napi::CallbackInfo& info) {
  winograd_weights(i64(info[0]), i64(info[1]), data<float>(info[2]), data<float>(info[3]));
}

// convForwardWinograd(geom, x, u, bias | null, y, activation op code, p0, p1): as convForward, from u
void ConvForwardWinograd(const Napi::CallbackInfo& info) {
  ConvGeom g = conv_geom(info[0]);
  if (!winograd_applies(g)) throw Napi::RangeError::New(info.Env(), "convForwardWinograd: needs a 2-D 3x3 stride-1 undilated ungrouped convolution");
  ConvEpilogue ep = epilogue(info);
  DenormalScope ds;
  winograd_forward(g, data<float>(info[1]), data<float>(info[2]), ep, data<float>(info[4]));
}

// convBackwardInput(geom, w, dy, dx), convBackwardWeight(geom, x, dy, dw)
template <void (*K)(const ConvGeom&, const float*, const float*, float*)>
void Conv(const Napi::CallbackInfo& info) {
  ConvGeom g = conv_geom(info[0]);
  DenormalScope ds;
  K(g, data<float>(info[1]), data<float>(info[2]), data<float>(info[3]));
}

PoolGeom pool_geom(const Napi::Value& v) {
  Napi::Object o = v.As<Napi::Object>();
  PoolGeom g;
  g.planes = i64(o.Get("planes"));
  g.adaptive = boolean(o.Get("adaptive"));
  g.count_include_pad = boolean(o.Get("countIncludePad"));
  spatial(o, "inSize", g.in, 1);
  spatial(o, "outSize", g.out, 1);
  spatial(o, "kernel", g.k, 1);
  spatial(o, "stride", g.s, 1);
  spatial(o, "padding", g.p, 0);
  spatial(o, "dilation", g.d, 1);
  return g;
}

// maxPool(geom, x, y, indices)
void MaxPool(const Napi::CallbackInfo& info) {
  PoolGeom g = pool_geom(info[0]);
  max_pool(g, data<float>(info[1]), data<float>(info[2]), data<int32_t>(info[3]));
}

// maxPoolBackward(planes, inPlane, outPlane, indices, dy, dx)
void MaxPoolBackward(const Napi::CallbackInfo& info) {
  DenormalScope ds;
  max_pool_backward(i64(info[0]), i64(info[1]), i64(info[2]), data<int32_t>(info[3]), data<float>(info[4]),
                    data<float>(info[5]));
}

// avgPool(geom, x, y), avgPoolBackward(geom, dy, dx)
template <void (*K)(const PoolGeom&, const float*, float*)>
void AvgPool(const Napi::CallbackInfo& info) {
  PoolGeom g = pool_geom(info[0]);
  DenormalScope ds;
  K(g, data<float>(info[1]), data<float>(info[2]));
}

// batchNormStats(x, n, c, hw, eps, mean, var, invstd)
void BatchNormStats(const Napi::CallbackInfo& info) {
  DenormalScope ds;
  batch_norm_stats(data<float>(info[0]), i64(info[1]), i64(info[2]), i64(info[3]), f32(info[4]),
                   data<float>(info[5]), data<float>(info[6]), data<float>(info[7]));
}

// batchNormForward(x, n, c, hw, mean, invstd, gamma | null, beta | null, y)
void BatchNormForward(const Napi::CallbackInfo& info) {
  DenormalScope ds;
  batch_norm_forward(data<float>(info[0]), i64(info[1]), i64(info[2]), i64(info[3]), data<float>(info[4]),
                     data<float>(info[5]), data_or_null<float>(info[6]), data_or_null<float>(info[7]),
                     data<float>(info[8]));
}

// batchNormBackward(x, dy, n, c, hw, mean, invstd, gamma | null, dx, dgamma, dbeta)
void BatchNormBackward(const Napi::CallbackInfo& info) {
  DenormalScope ds;
  batch_norm_backward(data<float>(info[0]), data<float>(info[1]), i64(info[2]), i64(info[3]), i64(info[4]),
                      data<float>(info[5]), data<float>(info[6]), data_or_null<float>(info[7]),
                      data<float>(info[8]), data<float>(info[9]), data<float>(info[10]));
}

double num(const Napi::Object& o, const char* key) { return o.Get(key).As<Napi::Number>().DoubleValue(); }
bool flag(const Napi::Object& o, const char* key) { return o.Get(key).As<Napi::Boolean>().Value(); }

// adamStep(h, param, grad, expAvg, expAvgSq, maxExpAvgSq | null)
void AdamStepJs(const Napi::CallbackInfo& info) {
  Napi::Object h = info[0].As<Napi::Object>();
  AdamParams p{num(h, "lr"), num(h, "beta1"), num(h, "beta2"), num(h, "eps"), num(h, "weightDecay"),
               int64_t(num(h, "step")), flag(h, "decoupled"), flag(h, "amsgrad")};
  Napi::TypedArray param = info[1].As<Napi::TypedArray>();
  DenormalScope ds;
  adam_step(p, int64_t(param.ElementLength()), data<float>(info[1]), data<float>(info[2]), data<float>(info[3]),
            data<float>(info[4]), data_or_null<float>(info[5]));
}

// sgdStep(h, param, grad, buf | null)
void SgdStepJs(const Napi::CallbackInfo& info) {
  Napi::Object h = info[0].As<Napi::Object>();
  SgdParams p{num(h, "lr"), num(h, "momentum"), num(h, "dampening"), num(h, "weightDecay"), flag(h, "nesterov"),
              flag(h, "first")};
  Napi::TypedArray param = info[1].As<Napi::TypedArray>();
  DenormalScope ds;
  sgd_step(p, int64_t(param.ElementLength()), data<float>(info[1]), data<float>(info[2]), data_or_null<float>(info[3]));
}

// rmspropStep(h, param, grad, squareAvg, gradAvg | null, buf | null)
void RmspropStepJs(const Napi::CallbackInfo& info) {
  Napi::Object h = info[0].As<Napi::Object>();
  RmspropParams p{num(h, "lr"), num(h, "alpha"), num(h, "eps"), num(h, "weightDecay"), num(h, "momentum"),
                  flag(h, "centered")};
  Napi::TypedArray param = info[1].As<Napi::TypedArray>();
  DenormalScope ds;
  rmsprop_step(p, int64_t(param.ElementLength()), data<float>(info[1]), data<float>(info[2]), data<float>(info[3]),
               data_or_null<float>(info[4]), data_or_null<float>(info[5]));
}

// sgemm(batch, transA, transB, M, N, K, alpha, A, aOffset, lda, strideA,
//       B, bOffset, ldb, strideB, beta, C, cOffset, ldc, strideC)
void Sgemm(const Napi::CallbackInfo& info) {
  DenormalScope ds;
  sgemm_batched(i64(info[0]), boolean(info[1]), boolean(info[2]), i64(info[3]), i64(info[4]),
                i64(info[5]), f32(info[6]), data<float>(info[7]) + i64(info[8]), i64(info[9]),
                i64(info[10]), data<float>(info[11]) + i64(info[12]), i64(info[13]), i64(info[14]),
                f32(info[15]), data<float>(info[16]) + i64(info[17]), i64(info[18]), i64(info[19]));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto fn = [&](const char* name, auto f) { exports.Set(name, Napi::Function::New(env, f, name)); };
  fn("alloc", Alloc);
  fn("allocatorStats", AllocatorStatsJs);
  fn("emptyCache", EmptyCache);
  fn("setCacheLimit", SetCacheLimit);
  fn("numThreads", NumThreads);
  fn("setNumThreads", SetNumThreads);
  fn("isa", IsaName);
  fn("forceIsa", ForceIsa);
  fn("opNames", OpNames);
  fn("unary", Unary);
  fn("unaryBackward", UnaryBackward);
  fn("binary", Binary);
  fn("compare", Compare);
  fn("where", Where);
  fn("reduce", Reduce);
  fn("argReduce", ArgReduce);
  fn("softmax", Softmax);
  fn("softmaxBackward", SoftmaxBackward);
  fn("copyStrided", CopyStrided);
  fn("addStrided", AddStrided);
  fn("fill", Fill);
  fn("cast", Cast);
  fn("indexSelect", Indexed<index_select>);
  fn("indexAdd", Indexed<index_add>);
  fn("gather", Indexed<gather>);
  fn("scatterAdd", Indexed<scatter_add>);
  fn("maxPool", MaxPool);
  fn("maxPoolBackward", MaxPoolBackward);
  fn("avgPool", AvgPool<avg_pool>);
  fn("avgPoolBackward", AvgPool<avg_pool_backward>);
  fn("batchNormStats", BatchNormStats);
  fn("batchNormForward", BatchNormForward);
  fn("batchNormBackward", BatchNormBackward);
  fn("adamStep", AdamStepJs);
  fn("sgdStep", SgdStepJs);
  fn("rmspropStep", RmspropStepJs);
  fn("convForward", ConvForward);
  fn("convForwardWinograd", ConvForwardWinograd);
  fn("winogradWeights", WinogradWeights);
  fn("convBackwardInput", Conv<conv_backward_input>);
  fn("convBackwardWeight", Conv<conv_backward_weight>);
  fn("sgemm", Sgemm);
  return exports;
}

}  // namespace

NODE_API_MODULE(tsvision, Init)
