// The logits and the loss as each trainer computes them (workloads/loss_ops.cpp, docs/memory-model.md §4.1):
// every pattern's saved / transient / released bytes worked by hand on a tiny LLaMA, the peaks they give,
// the release that selects transformers' code, and bad values of train.loss and versions.transformers.
#include <catch2/catch.hpp>

#include "compute_ops.h"
#include "test_support.h"
#include "tiny_llama.h"
#include "workloads/config_error.h"
#include "workloads/loss_ops.h"
#include "workloads/memory_model.h"
#include "workloads/step_program.h"

using namespace zerosim;
using zerosim::testing::find_op;
using zerosim::testing::op_named;
using zerosim::testing::TinyLlama;

namespace {

// The tiny LLaMA (tiny_llama.h) under HF Trainer without DeepSpeed: E = T·V = 32 · 100 = 3,200 logit
// elements; the head is frozen.
struct Tiny : TinyLlama {
  Tiny() { train = "{micro_batch: 1, seq_len: 32, engine: pytorch}"; }
};

// The head's module index in the tiny model's inventory (embed, layers, final norm, head).
LossOps tiny_loss(const RunConfig& c) {
  const StepProgram p = build_step_program(c);
  int head = -1;
  for (size_t i = 0; i < p.modules.size(); ++i)
    if (p.modules[i].kind == ModuleKind::lm_head) head = static_cast<int>(i);
  const bool trains = p.modules[static_cast<size_t>(head)].trainable;
  return build_loss_ops(c, head, trains, false);
}

}  // namespace

TEST_CASE("versions.transformers selects transformers' loss code, Qwen-v1 runs its own", "[memory][loss]") {
  Tiny tiny;
  auto code = [&](const std::string& v) {
    return resolve_loss_code(tiny.config({{"versions.transformers", v}}));
  };
  CHECK(code("4.36.2") == LossCode::hf_shifted_fp32);
  CHECK(code("4.45.2") == LossCode::hf_shifted_fp32);    // num_logits_to_keep, still .float() in forward
  CHECK(code("4.46.0") == LossCode::hf_upcast_in_loss);  // loss_utils.ForCausalLMLoss (#34191)
  CHECK(code("4.48.3") == LossCode::hf_upcast_in_loss);
  CHECK(code("4.49.0") == LossCode::hf_padded_labels);  // labels padded, no logits copy (#35646)
  CHECK(code("4.52.4") == LossCode::hf_padded_labels);
  CHECK(resolve_loss_code(tiny.config()) == LossCode::hf_padded_labels);  // default: the newest read
  RunConfig qwen = tiny.config({{"versions.transformers", "4.36"}});
  qwen.model.model_type = "qwen";
  CHECK(resolve_loss_code(qwen) == LossCode::qwen_remote);
  CHECK(resolve_loss_code(tiny.config({{"train.loss", "chunked"}})) == LossCode::torchtune_chunked);
  CHECK(resolve_loss_code(tiny.config({{"train.loss", "fused-linear-ce"}})) == LossCode::liger_fused);
  CHECK(resolve_loss_code(tiny.config({{"train.loss", "litgpt"}})) == LossCode::litgpt_chunked);
}

TEST_CASE("autocast: mixed precision without DeepSpeed's engine", "[memory][loss]") {
  Tiny tiny;
  CHECK(forward_autocasts(
      tiny.config()));  // bf16-mixed without DeepSpeed (engine pytorch): HF Trainer + accelerate
  CHECK_FALSE(forward_autocasts(tiny.config({{"train.precision", "bf16-pure"}})));
  // DeepSpeed's engine casts the module, with or without ZeRO.
  CHECK_FALSE(forward_autocasts(tiny.config({{"train.engine", "deepspeed"}})));
  CHECK_FALSE(forward_autocasts(tiny.config({{"train.engine", "deepspeed"}, {"zero.stage", "1"}})));
  CHECK(gradients_allocated_in_backward(tiny.config()));
  CHECK_FALSE(gradients_allocated_in_backward(tiny.config({{"train.grad_accum", "2"}})));
  CHECK_FALSE(
      gradients_allocated_in_backward(tiny.config({{"train.engine", "deepspeed"}, {"zero.stage", "2"}})));
}

TEST_CASE("hf, transformers 4.49+: bf16 logits, fp32 upcast, fp32 log-softmax = 10 B per logit",
          "[memory][loss]") {
  Tiny tiny;
  const LossOps l = tiny_loss(tiny.config());
  // lm_head writes the bf16 logits: 2·E = 6,400
  CHECK(op_named(l.forward, "lm_head.linear_fwd").transient_bytes == 6'400);
  const ComputeOp& ce = op_named(l.forward, "loss.cross_entropy_fwd");
  // log_softmax keeps its fp32 output: 4·E = 12,800; live with it: bf16 logits 2·E + the fp32 upcast 4·E
  // = 19,200 (10·E = 32,000 in all).
  CHECK(ce.saved_bytes == 12'800);
  CHECK(ce.transient_bytes == 19'200);
  CHECK(ce.releases_bytes == 0);
  // Passes: upcast 6 + log_softmax 12 = 18 B per element = 57,600, + accelerate's convert_outputs_to_fp32
  // (bf16-mixed at stage 0 autocasts; the model returns bf16 logits) 6·E = 19,200 → 76,800.
  CHECK(ce.bytes == 76'800.0);
  CHECK(ce.flops == 16'000.0);  // 5·E
  const ComputeOp& ceb = op_named(l.backward, "loss.cross_entropy_bwd");
  // NLL gradient + log_softmax input gradient, fp32: 8·E = 25,600 above the saved 12,800, which it frees.
  CHECK(ceb.transient_bytes == 25'600);
  CHECK(ceb.releases_bytes == 12'800);
  CHECK(ceb.bytes == 83'200.0);  // NLL zero fill 4 + log_softmax backward 16 + cast to bf16 6 = 26·E
  // Head backward: the bf16 logits gradient 2·E + dX 2·T·h = 6,400 + 4,096.
  CHECK(op_named(l.backward, "lm_head.linear_dx").transient_bytes == 10'496);
  CHECK(find_op(l.backward, "lm_head.linear_dw") == nullptr);  // frozen head
  CHECK(l.previous_logits_bytes == 0);

  // Without autocast (bf16-pure) nothing converts the output: 18·E.
  CHECK(op_named(tiny_loss(tiny.config({{"train.precision", "bf16-pure"}})).forward, "loss.cross_entropy_fwd")
            .bytes == 57'600.0);
}

TEST_CASE("hf, transformers 4.36-4.45: fp32 logits returned, shifted fp32 copy = 12 B per logit",
          "[memory][loss]") {
  Tiny tiny;
  const RunConfig c = tiny.config({{"versions.transformers", "4.45.2"}});
  const LossOps l = tiny_loss(c);
  const ComputeOp& ce = op_named(l.forward, "loss.cross_entropy_fwd");
  // fp32 logits 4·E + shifted fp32 copy 4·E + fp32 log-softmax 4·E = 12·E; saved 12,800, the rest 25,600.
  CHECK(ce.saved_bytes == 12'800);
  CHECK(ce.transient_bytes == 25'600);
  CHECK(ce.bytes == 83'200.0);  // upcast 6 + shift copy 8 + log_softmax 12 = 26·E; fp32 output: no convert
  const ComputeOp& ceb = op_named(l.backward, "loss.cross_entropy_bwd");
  CHECK(ceb.transient_bytes == 25'600);
  CHECK(ceb.bytes == 121'600.0);  // + the slice's zero-filled full gradient and copy, 12·E: 38·E
  // The walk (test_memory_model.cpp "tiny model, stage 0: the whole peak by hand"): static 201,472 and
  // activations at the loss 155,776 (layers 63,168 + 71,488, final norm 8,320, log-softmax 12,800). Loss
  // forward 155,776 + 25,600 = 181,376 ties the loss backward (+ 25,600): the forward comes first.
  // Tiny runs without DeepSpeed (train.engine: pytorch, so the forward autocasts): peft's fp32 adapters add
  // 8,960 B over the DeepSpeed-engine figures of the hand walk below (adapter weights, their fp32 inputs and
  // gradients; test_framework_behaviour.cpp works those through) — the loss's own bytes are unchanged.
  const MemoryResult m = predict_memory(c);
  CHECK(m.peak_at == "loss.cross_entropy_fwd");
  CHECK(m.peak_allocated_bytes == 201'472 + 155'776 + 25'600 + 8'960);
}

TEST_CASE("hf, transformers 4.46-4.48: bf16 logits kept, upcast and shifted copy = 14 B per logit",
          "[memory][loss]") {
  Tiny tiny;
  const RunConfig c = tiny.config({{"versions.transformers", "4.46.3"}});
  const LossOps l = tiny_loss(c);  // kept: ce refers into it
  const ComputeOp& ce = op_named(l.forward, "loss.cross_entropy_fwd");
  // bf16 logits 2 + fp32 upcast 4 + shifted fp32 copy 4 + log-softmax 4 = 14·E = 44,800; saved 12,800.
  CHECK(ce.saved_bytes == 12'800);
  CHECK(ce.transient_bytes == 32'000);
  CHECK(ce.bytes == 83'200.0 + 19'200.0);  // 26·E + accelerate's fp32 copy of the bf16 output 6·E
  // The forward now tops the backward: 201,472 + 155,776 + 32,000 = 389,248.
  const MemoryResult m = predict_memory(c);
  CHECK(m.peak_at == "loss.cross_entropy_fwd");
  CHECK(m.peak_allocated_bytes == 389'248 + 8'960);  // + the fp32 adapters' 8,960 (engine pytorch, above)
}

TEST_CASE("hf, Qwen-v1 remote code: shifted bf16 copy, cross_entropy in fp32 under autocast and bf16 without",
          "[memory][loss]") {
  Tiny tiny;
  RunConfig amp = tiny.config();
  amp.model.model_type = "qwen";
  const LossOps a = tiny_loss(amp);
  const ComputeOp& ce = op_named(a.forward, "loss.cross_entropy_fwd");
  // bf16 logits 2 + shifted bf16 copy 2 + autocast's fp32 cast 4 + fp32 log-softmax 4 = 12·E = 38,400.
  CHECK(ce.saved_bytes == 12'800);
  CHECK(ce.transient_bytes == 25'600);
  CHECK(ce.bytes == (22.0 + 6.0) * 3'200);  // shift 4 + cast 6 + log_softmax 12, + accelerate's copy 6
  CHECK(op_named(a.backward, "loss.cross_entropy_bwd").transient_bytes == 25'600);
  CHECK(op_named(a.backward, "loss.cross_entropy_bwd").bytes == 32.0 * 3'200);

  RunConfig pure = tiny.config({{"train.precision", "bf16-pure"}});
  pure.model.model_type = "qwen";
  const LossOps p = tiny_loss(pure);
  const ComputeOp& cp = op_named(p.forward, "loss.cross_entropy_fwd");
  // No autocast: log_softmax of the bf16 copy stays bf16: 2 + 2 + 2 = 6·E; saved 2·E = 6,400.
  CHECK(cp.saved_bytes == 6'400);
  CHECK(cp.transient_bytes == 12'800);
  CHECK(cp.bytes == 32'000.0);  // shift 4 + bf16 log_softmax 6
  const ComputeOp& cbp = op_named(p.backward, "loss.cross_entropy_bwd");
  CHECK(cbp.transient_bytes == 12'800);  // bf16 NLL and input gradients, 4·E
  CHECK(cbp.releases_bytes == 6'400);
}

TEST_CASE("hf-keep-outputs: the loop's `outputs` keeps the logits through backward and into the next forward",
          "[memory][loss]") {
  Tiny tiny;
  const RunConfig c = tiny.config({{"train.loss", "hf-keep-outputs"}, {"versions.transformers", "4.52.4"}});
  const LossOps l = tiny_loss(c);
  const ComputeOp& ce = op_named(l.forward, "loss.cross_entropy_fwd");
  // Saved: log-softmax 12,800 + the returned bf16 logits 6,400 (never released in the micro-step);
  // transient: the fp32 upcast 12,800 (10·E = 32,000 in all); the previous step's logits (6,400) go when
  // this forward returns. No accelerate copy: not HF Trainer.
  CHECK(ce.saved_bytes == 19'200);
  CHECK(ce.transient_bytes == 12'800);
  CHECK(ce.releases_oldest_bytes == 6'400);  // the first-saved tensor: the previous step's logits
  CHECK(ce.saved_tensors ==
        std::vector<int64_t>{6'400, 12'800});  // kept logits first: backward frees the other
  CHECK(l.previous_logits_bytes == 6'400);
  CHECK(ce.bytes == 57'600.0);
  const StepProgram p = build_step_program(c);
  CHECK(p.forward.front().saved_bytes == 6'400);  // held from the first op on
  // Walk: activations at the loss backward 155,776 + 6,400 kept = 162,176, + 25,600 fp32 gradients:
  // 201,472 + 187,776 = 389,248, 6,400 above plain hf's 382,848.
  const MemoryResult m = predict_memory(c, p);
  CHECK(m.peak_at == "loss.cross_entropy_bwd");
  // With the fp32 adapters of engine pytorch (above): activations 12,928 more, in all 8,960 more; the
  // kept logits still add exactly 6,400 over plain hf.
  CHECK(m.breakdown[MemComponent::activations] == 162'176 + 12'928);
  CHECK(m.peak_allocated_bytes == 389'248 + 8'960);
  CHECK(m.peak_allocated_bytes - predict_memory(tiny.config()).peak_allocated_bytes == 6'400);
}

TEST_CASE("chunked (torchtune): every chunk's fp32 log-softmax kept, one chunk upcast at a time",
          "[memory][loss]") {
  Tiny tiny;
  const RunConfig c = tiny.config({{"train.loss", "chunked"}});
  // torch.chunk(8, dim=1) of 32 positions: 4 tokens per chunk → 400 logit elements.
  CHECK(torchtune_chunk_tokens(1, 32) == 4);
  CHECK(torchtune_chunk_tokens(2, 33) == 10);  // ⌈33/8⌉ = 5 positions of 2 rows
  const LossOps l = tiny_loss(c);
  const ComputeOp& ce = op_named(l.forward, "loss.chunked_ce_fwd");
  CHECK(ce.saved_bytes == 12'800);             // 4·E
  CHECK(ce.transient_bytes == 6'400 + 1'600);  // bf16 logits 2·E + one chunk's fp32 copy 4·400
  CHECK(ce.bytes == 57'600.0);                 // 18·E
  const ComputeOp& ceb = op_named(l.backward, "loss.chunked_ce_bwd");
  CHECK(ceb.transient_bytes == 3'200);  // one chunk's NLL and input gradients, 8·400
  CHECK(ceb.releases_bytes == 12'800);
  CHECK(ceb.bytes == 83'200.0);  // 26·E
  // Loss forward 155,776 + 8,000 and backward 155,776 + 3,200: both below hf's 181,376.
  CHECK(predict_memory(c).peak_allocated_bytes < predict_memory(tiny.config()).peak_allocated_bytes);
}

TEST_CASE("litgpt: 128-token chunks, Fabric's fp32 logits list live across micro-steps", "[memory][loss]") {
  Tiny tiny;
  // T = 256: two 128-token chunks. E = 25,600, a chunk Ec = 12,800 elements. Fabric converts the returned
  // bf16 chunks to fp32 (convert_output) whatever the precision plugin.
  const RunConfig c =
      tiny.config({{"train.loss", "litgpt"}, {"train.seq_len", "256"}, {"train.precision", "bf16-pure"}});
  CHECK(litgpt_chunk_tokens(1, 256) == 128);
  CHECK(litgpt_chunk_tokens(4, 100) == 400);
  const LossOps l = tiny_loss(c);
  CHECK(l.previous_logits_bytes == 102'400);  // the previous iteration's fp32 list, 4·E
  const ComputeOp& head = op_named(l.forward, "lm_head.linear_fwd");
  CHECK(head.saved_bytes == 102'400);            // this iteration's fp32 list, kept by `logits`
  CHECK(head.transient_bytes == 51'200);         // the bf16 chunks until the conversion, 2·E
  CHECK(head.releases_oldest_bytes == 102'400);  // `logits = model(...)` drops the previous one
  const ComputeOp& ce = op_named(l.forward, "loss.chunked_ce_fwd");
  CHECK(ce.saved_bytes == 102'400);                 // fp32 log-softmax of every chunk, 4·E
  CHECK(ce.transient_bytes == 51'200);              // the last chunk's reshaped fp32 copy, 4·Ec
  CHECK(ce.bytes == 18.0 * 25'600 + 8.0 * 12'800);  // conversion 6·E + fp32 log_softmax 12·E + copy 8·Ec
  const ComputeOp& ceb = op_named(l.backward, "loss.chunked_ce_bwd");
  CHECK(ceb.transient_bytes == 102'400 + 25'600);  // one chunk's fp32 NLL and input gradients, bf16 cast back
  CHECK(ceb.releases_bytes == 102'400);
  CHECK(ceb.bytes == 26.0 * 25'600);  // NLL zero fill 4 + log_softmax backward 16 + to bf16 6

  // Fabric bf16-mixed (autocast inside the forward): the same list, the same fp32 loss.
  const LossOps a = tiny_loss(tiny.config({{"train.loss", "litgpt"}, {"train.seq_len", "256"}}));
  CHECK(op_named(a.forward, "loss.chunked_ce_fwd").saved_bytes == 102'400);
  CHECK(op_named(a.forward, "lm_head.linear_fwd").saved_bytes == 102'400);
  CHECK(op_named(a.backward, "loss.chunked_ce_bwd").transient_bytes == 102'400 + 25'600);
}

TEST_CASE("fused-linear-ce (Liger): one logits chunk, the head's gradient GEMMs in forward",
          "[memory][loss]") {
  Tiny tiny;
  // inc_factor ⌈100/64⌉ = 2, ⌈32/2⌉ = 16 → 16 tokens a chunk: 16·100·2 = 3,200 bytes of bf16 logits.
  CHECK(liger_chunk_tokens(32, 100, 64) == 16);
  CHECK(liger_chunk_tokens(16'384, 32'000, 4096) == 2048);  // Liger's comment: BT 16384, V 32000, H 4096
  CHECK(liger_chunk_tokens(2048, 151'936, 4096) == 64);     // ⌈2048/38⌉ = 54 → 64
  CHECK(liger_chunk_tokens(8, 151'936, 4096) == 1);
  const RunConfig c = tiny.config({{"train.loss", "fused-linear-ce"}});
  const LossOps l = tiny_loss(c);
  const ComputeOp& head = op_named(l.forward, "lm_head.linear_fwd");
  CHECK(head.saved_bytes == 4'096);            // grad_input 2·T·h, saved for backward
  CHECK(head.transient_bytes == 3'200 + 128);  // one chunk + the fp32 per-token losses 4·T
  const ComputeOp& ce = op_named(l.forward, "loss.fused_linear_ce_fwd");
  CHECK(ce.saved_bytes == 0);
  CHECK(ce.bytes == 6.0 * 3'200);
  CHECK(op_named(l.forward, "lm_head.linear_dx").phase == Phase::forward);
  CHECK(op_named(l.forward, "lm_head.linear_dx").transient_bytes == 3'200);
  CHECK(find_op(l.backward, "lm_head.linear_dx") == nullptr);
  CHECK(find_op(l.forward, "loss.cross_entropy_fwd") == nullptr);
  const ComputeOp& b = op_named(l.backward, "loss.fused_linear_ce_bwd");
  CHECK(b.releases_bytes == 4'096);
  CHECK(b.bytes == 8'192.0);  // grad_input read and written, 2·2·T·h
  CHECK(b.modules.empty());   // frozen head: no gradient to hand over

  // Full fine-tuning: grad_weight 2·V·h = 12,800 from the forward on. Stages 0-1 without accumulation:
  // it becomes the head's .grad, which the walk allocates at the backward op naming the head.
  const RunConfig full = tiny.config({{"train.loss", "fused-linear-ce"}, {"peft.method", "none"}});
  const LossOps f = tiny_loss(full);
  CHECK(op_named(f.forward, "lm_head.linear_fwd").saved_bytes == 4'096 + 12'800);
  CHECK(op_named(f.forward, "lm_head.linear_dw").releases_bytes == 12'800);
  CHECK(op_named(f.backward, "loss.fused_linear_ce_bwd").releases_bytes == 4'096);
  CHECK(op_named(f.backward, "loss.fused_linear_ce_bwd").modules.size() == 1);
  // With accumulation the gradient buffer exists already: grad_weight is extra until backward.
  const LossOps g = tiny_loss(
      tiny.config({{"train.loss", "fused-linear-ce"}, {"peft.method", "none"}, {"train.grad_accum", "2"}}));
  CHECK(op_named(g.forward, "lm_head.linear_dw").releases_bytes == 0);
  CHECK(op_named(g.backward, "loss.fused_linear_ce_bwd").releases_bytes == 4'096 + 12'800);

  // The same GEMM FLOPs as the unfused head (2·T·h·V each for fwd, dX, dW), moved, not recomputed.
  auto gemm_flops = [](const RunConfig& rc) {
    const StepProgram p = build_step_program(rc);
    double s = 0;
    for (const auto* list : {&p.forward, &p.backward})
      for (const auto& op : *list)
        if (op.name.rfind("lm_head.", 0) == 0) s += op.flops;
    return s;
  };
  CHECK(gemm_flops(full) == 3 * 2.0 * 32 * 64 * 100);
  CHECK(gemm_flops(full) == gemm_flops(tiny.config({{"peft.method", "none"}})));
}

TEST_CASE("train.loss and versions.transformers: bad values are refused with the allowed ones",
          "[memory][loss][config]") {
  Tiny tiny;
  for (const char* bad : {"liger", "HF", "fused", "1"}) {
    INFO(bad);
    CHECK_THROWS_WITH(tiny.config({{"train.loss", bad}}),
                      Catch::Contains("train.loss") &&
                          Catch::Contains("hf, hf-keep-outputs, chunked, fused-linear-ce, litgpt"));
  }
  for (const char* bad : {"4.35.2", "4.57.0", "5.0", "3.36", "latest"}) {
    INFO(bad);
    CHECK_THROWS_AS(tiny.config({{"versions.transformers", bad}}), ConfigError);
  }
  CHECK_THROWS_WITH(tiny.config({{"versions.transformers", "4.57.0"}}),
                    Catch::Contains("versions.transformers") && Catch::Contains("4.36.0 to 4.56.x"));
  CHECK(tiny.config({{"versions.transformers", "v4.46.3"}}).versions.transformers == Version{4, 46, 3});
  CHECK(tiny.config({{"versions.transformers", "4.56.2+cu121"}}).versions.transformers == Version{4, 56, 2});
  // deepspeed's range is unchanged: no patch release past 0.19.5.
  CHECK_THROWS_AS(tiny.config({{"versions.deepspeed", "0.19.6"}}), ConfigError);
  const auto echo = tiny.config({{"train.loss", "fused-linear-ce"}}).echo();
  CHECK(echo["train"]["loss"] == "fused-linear-ce");
  CHECK(echo["versions"]["transformers"] == "4.56.0");
}
