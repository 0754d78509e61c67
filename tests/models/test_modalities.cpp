// The two-modality models on a data set whose second modality is not called "text" (TikTok: image + audio):
// the text slot takes the only other non-image modality, and gives the same model as that table named "text".
#include <gtest/gtest.h>

#include <cmath>

#include "engine/error.h"
#include "models/model.h"
#include "tests/models/tiny.h"

namespace lethe::models::testing {
namespace {

TEST(Modalities, SecondModalityFillsTheTextSlot) {
  for (const std::string name : {"vbpr", "freedom", "mgcn"}) {
    TrainData with_text = tiny_data();
    TrainData with_audio = with_text;
    with_audio.features.erase("text");
    with_audio.features["audio"] = with_text.features.at("text");
    auto a = create_model(name, tiny_config(name), with_text, 7, Device::cpu());
    auto b = create_model(name, tiny_config(name), with_audio, 7, Device::cpu());
    Rng ra(3), rb(3);
    a->pre_epoch(ra);
    b->pre_epoch(rb);
    const Batch batch = tiny_batch();
    const double la = loss_value(*a, batch), lb = loss_value(*b, batch);
    EXPECT_TRUE(std::isfinite(la)) << name;
    EXPECT_DOUBLE_EQ(la, lb) << name;
  }
}

TEST(Modalities, AmbiguousSecondModalityIsAnError) {
  TrainData d = tiny_data();
  d.features["audio"] = d.features.at("text");
  d.features.erase("text");
  d.features["video"] = d.features.at("audio");
  try {
    create_model("freedom", tiny_config("freedom"), d, 7, Device::cpu());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'text' is missing"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace lethe::models::testing
