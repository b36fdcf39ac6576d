#include "workloads/peft_release_features.h"

#include <algorithm>

#include "workloads/config_error.h"

namespace zerosim {

namespace {

struct Feature {
  const char* what;
  Version added;
  const char* where;
};

void require(const RunConfig& c, const std::string& file, const Feature& f) {
  if (c.versions.peft >= f.added) return;
  throw ConfigError(file, "versions.peft",
                    c.versions.peft.text() + ": " + f.what + " arrived in peft " + f.added.text() + " (" +
                        f.where + ") (allowed: peft " + f.added.text() + " and later, or drop it)");
}

}  // namespace

void check_peft_release(const RunConfig& c, const std::string& file) {
  const PeftSpec& p = c.peft;
  if (p.method == PeftMethod::none) return;
  // Each release is where the field first appears in src/peft/tuners/lora (config.py or, before 0.6,
  // lora.py).
  if (p.method == PeftMethod::dora)
    require(c, file, {"DoRA (use_dora)", Version{0, 9, 0}, "LoraConfig.use_dora, #1474"});
  if (p.use_rslora) require(c, file, {"use_rslora", Version{0, 8, 0}, "LoraConfig.use_rslora, #1244"});
  if (std::find(p.target_modules.begin(), p.target_modules.end(), "all-linear") != p.target_modules.end())
    require(c, file,
            {"target_modules all-linear", Version{0, 8, 0},
             "tuners_utils.py _maybe_include_all_linear_layers, #1295"});
  if (!p.rank_pattern.empty() || !p.alpha_pattern.empty())
    require(c, file, {"rank_pattern / alpha_pattern", Version{0, 6, 0}, "LoraConfig.rank_pattern, #873"});
  if (!p.exclude_modules.empty())
    require(c, file, {"exclude_modules", Version{0, 14, 0}, "LoraConfig.exclude_modules, #2102"});
  if (!p.autocast_adapter_dtype)
    require(c, file,
            {"get_peft_model(autocast_adapter_dtype=False)", Version{0, 12, 0},
             "peft_model.py PeftModel.__init__, #1706"});
}

}  // namespace zerosim
