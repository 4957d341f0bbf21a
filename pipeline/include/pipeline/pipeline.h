/*
 * pipeline.h - every pipeline library in one include, for programs that link the
 * umbrella target `pipeline` (the CLI, the tests). A program that uses one
 * library includes its own header instead (pipeline/<name>.h) and links pl_<name>.
 */
#ifndef PIPELINE_PIPELINE_H
#define PIPELINE_PIPELINE_H

#include "pipeline/agent.h"
#include "pipeline/client.h"
#include "pipeline/convert.h"
#include "pipeline/core.h"
#include "pipeline/decode.h"
#include "pipeline/doctor.h"
#include "pipeline/events.h"
#include "pipeline/import.h"
#include "pipeline/inspect.h"
#include "pipeline/report.h"
#include "pipeline/rewrite.h"
#include "pipeline/site.h"
#include "pipeline/synth.h"

#endif /* PIPELINE_PIPELINE_H */
