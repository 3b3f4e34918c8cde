// Module entry: one Bitgrad instance per environment (main thread or worker_thread).
#include "addon.h"

#include <string>

#include "../../cuda/backend.h"
#include "../cpu/simd.h"
#include "../cpu/threadpool.h"
#include "buffer.h"
#include "errors.h"
#include "ops.h"

#ifndef BITGRAD_VERSION
#define BITGRAD_VERSION "dev"
#endif

namespace bg {
namespace glue {

Bitgrad& state(Napi::Env env) { return *env.GetInstanceData<Bitgrad>(); }

Bitgrad::Bitgrad(Napi::Env env, Napi::Object exports) {
  buffer_ctor = Napi::Persistent(NativeBuffer::Define(env));
  completion.reset(new Completion(env));
  DefineAddon(exports,
              {InstanceMethod<&Bitgrad::InitErrors>("init"), InstanceMethod<&Bitgrad::BuildInfo>("buildInfo"),
               InstanceMethod<&Bitgrad::Probe>("probe"), InstanceMethod<&Bitgrad::CpuInfo>("cpuInfo"),
               InstanceMethod<&Bitgrad::SetSimd>("setSimd"),
               InstanceMethod<&Bitgrad::SetNumThreads>("setNumThreads")});
  exports.Set("alloc", Napi::Function::New<Alloc>(env, "alloc"));
  exports.Set("write", Napi::Function::New<Write>(env, "write"));
  exports.Set("read", Napi::Function::New<Read>(env, "read"));
  exports.Set("readAsync", Napi::Function::New<ReadAsync>(env, "readAsync"));
  exports.Set("copy", Napi::Function::New<Copy>(env, "copy"));
  exports.Set("synchronize", Napi::Function::New<Synchronize>(env, "synchronize"));
  exports.Set("memory", Napi::Function::New<Memory>(env, "memory"));
  exports.Set("emptyCache", Napi::Function::New<EmptyCache>(env, "emptyCache"));
  exports.Set("setMemoryCap", Napi::Function::New<SetMemoryCap>(env, "setMemoryCap"));
  exports.Set("bceWithLogits", Napi::Function::New<BceWithLogits>(env, "bceWithLogits"));
  exports.Set("packBits", Napi::Function::New<PackBits>(env, "packBits"));
  exports.Set("unpackBits", Napi::Function::New<UnpackBits>(env, "unpackBits"));
  exports.Set("estimator", Napi::Function::New<Estimator>(env, "estimator"));
  exports.Set("classLoss", Napi::Function::New<ClassLoss>(env, "classLoss"));
  exports.Set("rowLoss", Napi::Function::New<RowLoss>(env, "rowLoss"));
  exports.Set("scaleRows", Napi::Function::New<ScaleRows>(env, "scaleRows"));
  exports.Set("xnorK", Napi::Function::New<XnorK>(env, "xnorK"));
  exports.Set("xnorPP", Napi::Function::New<XnorPP>(env, "xnorPP"));
  exports.Set("lossEw", Napi::Function::New<LossEw>(env, "lossEw"));
  exports.Set("xnorConv", Napi::Function::New<XnorConv>(env, "xnorConv"));
  exports.Set("xnorKernelName", Napi::Function::New<XnorKernelName>(env, "xnorKernelName"));
  exports.Set("xnorLinearBackward", Napi::Function::New<XnorLinearBackward>(env, "xnorLinearBackward"));
  exports.Set("xnorConvBackward", Napi::Function::New<XnorConvBackward>(env, "xnorConvBackward"));
  exports.Set("researchLoss", Napi::Function::New<ResearchLoss>(env, "researchLoss"));
}

Napi::Value Bitgrad::InitErrors(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject())
    throw_validation(env, "BITGRAD_INVALID_ARGUMENT", "init({ BitgradError, ValidationError, DeviceError, OutOfMemoryError })");
  Napi::Object o = info[0].As<Napi::Object>();
  const char* names[] = {"BitgradError", "ValidationError", "DeviceError", "OutOfMemoryError"};
  Napi::FunctionReference* slots[] = {&base_error, &validation_error, &device_error, &oom_error};
  for (int i = 0; i < 4; ++i) {
    Napi::Value v = o.Get(names[i]);
    if (!v.IsFunction()) throw_validation(env, "BITGRAD_INVALID_ARGUMENT", std::string(names[i]) + " must be a class");
  }
  for (int i = 0; i < 4; ++i) *slots[i] = Napi::Persistent(o.Get(names[i]).As<Napi::Function>());
  errors_ready = true;
  return env.Undefined();
}

Napi::Value Bitgrad::BuildInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("version", BITGRAD_VERSION);
  o.Set("napiVersion", NAPI_VERSION);
  o.Set("cuda", cuda::compiled());
#if defined(__x86_64__)
  o.Set("arch", "x64");
#elif defined(__aarch64__)
  o.Set("arch", "arm64");
#else
  o.Set("arch", "other");
#endif
  return o;
}

Napi::Value Bitgrad::Probe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const cuda::Probe p = cuda::probe();
  Napi::Object o = Napi::Object::New(env);
  o.Set("compiled", p.compiled);
  o.Set("usable", p.usable);
  o.Set("reason", p.reason);
  o.Set("errorCode", p.error_code);
  o.Set("driverVersion", p.driver_version);
  o.Set("runtimeVersion", p.runtime_version);
  o.Set("ptxArch", p.ptx_arch);
  Napi::Array archs = Napi::Array::New(env, p.compiled_archs.size());
  for (size_t i = 0; i < p.compiled_archs.size(); ++i) archs.Set(static_cast<uint32_t>(i), p.compiled_archs[i]);
  o.Set("compiledArchs", archs);
  Napi::Array devs = Napi::Array::New(env, p.devices.size());
  for (size_t i = 0; i < p.devices.size(); ++i) {
    const cuda::DeviceInfo& d = p.devices[i];
    Napi::Object x = Napi::Object::New(env);
    x.Set("index", d.index);
    x.Set("name", d.name);
    x.Set("computeCapability", std::to_string(d.major) + "." + std::to_string(d.minor));
    x.Set("totalBytes", static_cast<double>(d.total_bytes));
    x.Set("smCount", d.sm_count);
    x.Set("archCompatible", d.arch_compatible);
    devs.Set(static_cast<uint32_t>(i), x);
  }
  o.Set("devices", devs);
  return o;
}

Napi::Value Bitgrad::CpuInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const cpu::IsaInfo& isa = cpu::isa_info();
  Napi::Object o = Napi::Object::New(env);
  o.Set("simd", cpu::isa_name(isa.active));
  o.Set("simdBest", cpu::isa_name(isa.best_supported));
  o.Set("simdReason", isa.reason);
  o.Set("threads", cpu::num_threads());
  return o;
}

Napi::Value Bitgrad::SetSimd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString())
    throw_validation(env, "BITGRAD_INVALID_ARGUMENT", "setSimd('auto' | 'scalar' | 'avx2' | 'avx512')");
  std::string name = info[0].As<Napi::String>().Utf8Value();
  if (name == "auto") name = "";
  if (!name.empty() && name != "scalar" && name != "avx2" && name != "avx512")
    throw_validation(env, "BITGRAD_INVALID_ARGUMENT", "unknown SIMD path: " + name);
  cpu::set_isa_override(name);
  return CpuInfo(info);
}

Napi::Value Bitgrad::SetNumThreads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber())
    throw_validation(env, "BITGRAD_INVALID_ARGUMENT", "setNumThreads(n)");
  const int n = info[0].As<Napi::Number>().Int32Value();
  if (n < 1 || n > 1024) throw_validation(env, "BITGRAD_INVALID_ARGUMENT", "threads must be in [1, 1024]");
  cpu::set_num_threads(n);
  return Napi::Number::New(env, cpu::num_threads());
}

}  // namespace glue
}  // namespace bg

#ifndef NODE_GYP_MODULE_NAME
#define NODE_GYP_MODULE_NAME bitgrad
#endif
using BitgradAddon = bg::glue::Bitgrad;
NODE_API_ADDON(BitgradAddon)
