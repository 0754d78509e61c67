// The unlearning wing in one include (docs/unlearning.md): what a request is and how it resolves
// (requests.h), the data after requests (request_view.h), the methods on the one training loop
// (methods.h: mmrecun.cpp, baselines.cpp), their stop rules (stop_rules.h); audits and reports are in
// audit.h / report.h, run directories and the command pipelines in unlearn_run.h / pipeline.h.
#pragma once

#include "models/unlearning/methods.h"
#include "models/unlearning/request_view.h"
#include "models/unlearning/requests.h"
#include "models/unlearning/stop_rules.h"
