import type { InnerStepSpec, InputSource, ParameterType, PipelineConfig, StepSpec, TuningStep } from '../schemas/mlops-v2';
import { FOR_EACH_FROM_REF, FOR_EACH_REF, FROM_REF, isGet, isJoin, isJsonGet } from '../schemas/patterns';
import type { Condition, Value } from '../schemas/pipeline-values';
import { historyIssue, itemsProblem } from './for-each';

/**
 * The pipeline as a graph: which step waits for which, and which steps run only in a Condition's
 * branch. Every reference in mlops.yaml Version 2 is checked here — unknown steps, parameters,
 * outputs, properties and property files, type errors, cycles, branch rules — and each problem is
 * reported with the field that holds it (`Steps.train.Channels.train.From: …`). Pure.
 */

/** Where a step sits: at the top level (undefined) or in one branch of a Condition step. */
export interface Branch {
  condition: string;
  side: 'If' | 'Else';
}

export interface PipelineGraph {
  /** Step names in the order the file declares them. */
  order: string[];
  /**
   * What each step waits for within its own branch (or the top level): references, DependsOn, and
   * implicit waits — a Condition waits for everything its branches read from outside them.
   */
  dependencies: Map<string, Set<string>>;
  /** The branch each step belongs to; steps at the top level are absent. */
  branchOf: Map<string, Branch>;
  /**
   * Each ForEach step's inner steps in file order. Their dependencies (on inner siblings only) are
   * in `dependencies`; what they read from outside, the ForEach itself waits for.
   */
  forEach: Map<string, { order: string[] }>;
}

/** A value's type as far as the file tells; `Unknown` for report values, checked at run time. */
export type ValueType = ParameterType | 'Unknown';

const NUMERIC: ReadonlySet<ValueType> = new Set(['Integer', 'Float', 'Unknown']);

/** How a field uses a value: as text (any scalar, written as text), an integer, anything (hyperparameters), or a ForEach's list of items. */
type FieldKind = 'text' | 'integer' | 'any' | 'list';

interface ValueUse {
  field: string;
  value: Value;
  kind: FieldKind;
}

interface StepRef {
  field: string;
  step: string;
}

/** What the file says about one step: the values it uses and the steps it names. */
interface StepUses {
  values: ValueUse[];
  /** `inner` is set for `<ForEach>/<inner step>/<output>` (every item's output); `perItemAllowed` where that may be read (Processing Inputs). */
  froms: { field: string; step: string; output: string; inner?: string; perItemAllowed: boolean }[];
  propertyFiles: { field: string; step: string; file: string }[];
  dependsOn: StepRef[];
  conditions: { field: string; condition: Condition }[];
}

function sourceUses(prefix: string, sources: Record<string, InputSource>, uses: StepUses, perItemAllowed: boolean): void {
  for (const [name, source] of Object.entries(sources)) {
    if ('Dataset' in source) uses.values.push({ field: `${prefix}.${name}.Dataset`, value: source.Dataset, kind: 'text' });
    else {
      const perItem = FOR_EACH_FROM_REF.exec(source.From);
      if (perItem) uses.froms.push({ field: `${prefix}.${name}.From`, step: perItem[1]!, inner: perItem[2]!, output: perItem[3]!, perItemAllowed });
      else {
        const [, step = '', output = ''] = FROM_REF.exec(source.From) ?? [];
        uses.froms.push({ field: `${prefix}.${name}.From`, step, output, perItemAllowed });
      }
    }
  }
}

/** What a step uses; `at` is its field path (`Steps.<name>`, or `Steps.<ForEach>.Steps.<name>` inside a ForEach). */
function stepUses(at: string, spec: StepSpec | InnerStepSpec): StepUses {
  const uses: StepUses = { values: [], froms: [], propertyFiles: [], dependsOn: [], conditions: [] };
  const text = (field: string, value: Value | undefined) => value !== undefined && uses.values.push({ field, value, kind: 'text' });
  const integer = (field: string, value: Value | undefined) => value !== undefined && uses.values.push({ field, value, kind: 'integer' });
  const environment = (field: string, env: Record<string, Value> | undefined) => Object.entries(env ?? {}).forEach(([key, value]) => text(`${field}.${key}`, value));
  (spec.DependsOn ?? []).forEach((step, index) => uses.dependsOn.push({ field: `${at}.DependsOn[${index}]`, step }));
  switch (spec.Type) {
    case 'Processing': {
      const app = spec.AppSpecification;
      text(`${at}.AppSpecification.ImageUri`, app.ImageUri);
      (app.ContainerEntrypoint ?? []).forEach((value, index) => text(`${at}.AppSpecification.ContainerEntrypoint[${index}]`, value));
      (app.ContainerArguments ?? []).forEach((value, index) => text(`${at}.AppSpecification.ContainerArguments[${index}]`, value));
      const cluster = spec.ProcessingResources.ClusterConfig;
      text(`${at}.ProcessingResources.ClusterConfig.InstanceType`, cluster.InstanceType);
      integer(`${at}.ProcessingResources.ClusterConfig.InstanceCount`, cluster.InstanceCount);
      integer(`${at}.ProcessingResources.ClusterConfig.VolumeSizeInGB`, cluster.VolumeSizeInGB);
      integer(`${at}.StoppingCondition.MaxRuntimeInSeconds`, spec.StoppingCondition?.MaxRuntimeInSeconds);
      environment(`${at}.Environment`, spec.Environment);
      sourceUses(`${at}.Inputs`, spec.Inputs, uses, true);
      break;
    }
    case 'Training': {
      text(`${at}.AlgorithmSpecification.TrainingImage`, spec.AlgorithmSpecification.TrainingImage);
      Object.entries(spec.HyperParameters).forEach(([key, value]) => uses.values.push({ field: `${at}.HyperParameters.${key}`, value, kind: 'any' }));
      text(`${at}.ResourceConfig.InstanceType`, spec.ResourceConfig.InstanceType);
      integer(`${at}.ResourceConfig.InstanceCount`, spec.ResourceConfig.InstanceCount);
      integer(`${at}.ResourceConfig.VolumeSizeInGB`, spec.ResourceConfig.VolumeSizeInGB);
      integer(`${at}.StoppingCondition.MaxRuntimeInSeconds`, spec.StoppingCondition?.MaxRuntimeInSeconds);
      environment(`${at}.Environment`, spec.Environment);
      sourceUses(`${at}.Channels`, spec.Channels, uses, false);
      break;
    }
    case 'Tuning': {
      const config = spec.HyperParameterTuningJobConfig;
      const definition = spec.TrainingJobDefinition;
      const def = `${at}.TrainingJobDefinition`;
      integer(`${at}.HyperParameterTuningJobConfig.ResourceLimits.MaxNumberOfTrainingJobs`, config.ResourceLimits.MaxNumberOfTrainingJobs);
      integer(`${at}.HyperParameterTuningJobConfig.ResourceLimits.MaxParallelTrainingJobs`, config.ResourceLimits.MaxParallelTrainingJobs);
      integer(`${at}.HyperParameterTuningJobConfig.ResourceLimits.MaxRuntimeInSeconds`, config.ResourceLimits.MaxRuntimeInSeconds);
      for (const kind of ['IntegerParameterRanges', 'ContinuousParameterRanges'] as const) {
        config.ParameterRanges[kind].forEach((range, index) => {
          for (const bound of ['MinValue', 'MaxValue'] as const) uses.values.push({ field: `${at}.HyperParameterTuningJobConfig.ParameterRanges.${kind}[${index}].${bound}`, value: range[bound], kind: 'any' });
        });
      }
      text(`${def}.AlgorithmSpecification.TrainingImage`, definition.AlgorithmSpecification.TrainingImage);
      Object.entries(definition.StaticHyperParameters).forEach(([key, value]) => uses.values.push({ field: `${def}.StaticHyperParameters.${key}`, value, kind: 'any' }));
      text(`${def}.ResourceConfig.InstanceType`, definition.ResourceConfig.InstanceType);
      integer(`${def}.ResourceConfig.InstanceCount`, definition.ResourceConfig.InstanceCount);
      integer(`${def}.ResourceConfig.VolumeSizeInGB`, definition.ResourceConfig.VolumeSizeInGB);
      integer(`${def}.StoppingCondition.MaxRuntimeInSeconds`, definition.StoppingCondition?.MaxRuntimeInSeconds);
      environment(`${def}.Environment`, definition.Environment);
      sourceUses(`${def}.Channels`, definition.Channels, uses, false);
      break;
    }
    case 'Transform': {
      const [, modelStep = '', modelOutput = ''] = FROM_REF.exec(spec.Model.ModelData.From) ?? [];
      uses.froms.push({ field: `${at}.Model.ModelData.From`, step: modelStep, output: modelOutput, perItemAllowed: false });
      text(`${at}.Model.Image`, spec.Model.Image);
      environment(`${at}.Model.Environment`, spec.Model.Environment);
      sourceUses(`${at}.TransformInput`, { DataSource: spec.TransformInput.DataSource }, uses, false);
      text(`${at}.TransformResources.InstanceType`, spec.TransformResources.InstanceType);
      integer(`${at}.TransformResources.InstanceCount`, spec.TransformResources.InstanceCount);
      integer(`${at}.MaxPayloadInMB`, spec.MaxPayloadInMB);
      integer(`${at}.MaxConcurrentTransforms`, spec.MaxConcurrentTransforms);
      environment(`${at}.Environment`, spec.Environment);
      break;
    }
    case 'Condition':
      uses.conditions.push({ field: `${at}.Condition`, condition: spec.Condition });
      break;
    case 'Fail':
      text(`${at}.ErrorMessage`, spec.ErrorMessage);
      break;
    case 'RegisterModel': {
      const [, step = '', output = ''] = FROM_REF.exec(spec.ModelData.From) ?? [];
      uses.froms.push({ field: `${at}.ModelData.From`, step, output, perItemAllowed: false });
      text(`${at}.ModelPackageDescription`, spec.ModelPackageDescription);
      const statistics = spec.ModelMetrics?.ModelQuality.Statistics;
      if (statistics) {
        const [, step2 = '', file = ''] = /^Steps\.([^.]+)\.PropertyFiles\.(.+)$/.exec(statistics.Get) ?? [];
        uses.propertyFiles.push({ field: `${at}.ModelMetrics.ModelQuality.Statistics.Get`, step: step2, file });
      }
      break;
    }
    case 'ForEach':
      if (!Array.isArray(spec.Items)) uses.values.push({ field: `${at}.Items`, value: spec.Items, kind: 'list' });
      break;
  }
  return uses;
}

/** The values and conditions a condition tree holds, with their field paths. */
function conditionValues(field: string, condition: Condition, out: { field: string; value: Value }[]): void {
  if ('Left' in condition) {
    out.push({ field: `${field}.Left`, value: condition.Left }, { field: `${field}.Right`, value: condition.Right });
  } else if ('In' in condition) {
    out.push({ field: `${field}.In.Value`, value: condition.In.Value });
    condition.In.Values.forEach((value, index) => out.push({ field: `${field}.In.Values[${index}]`, value }));
  } else if ('Not' in condition) {
    conditionValues(`${field}.Not`, condition.Not, out);
  } else if ('And' in condition) {
    condition.And.forEach((inner, index) => conditionValues(`${field}.And[${index}]`, inner, out));
  } else {
    condition.Or.forEach((inner, index) => conditionValues(`${field}.Or[${index}]`, inner, out));
  }
}

/** A step property SageMaker Pipelines lets later steps read, and its type. Undefined when `path` is none. */
export function propertyType(spec: StepSpec, path: string): ValueType | undefined {
  switch (spec.Type) {
    case 'Processing': {
      if (path === 'ProcessingJobName' || path === 'ProcessingJobArn') return 'String';
      const output = /^ProcessingOutputConfig\.Outputs\['([^']+)'\]\.S3Output\.S3Uri$/.exec(path)?.[1];
      return output !== undefined && spec.Outputs.includes(output) ? 'String' : undefined;
    }
    case 'Training': {
      if (path === 'TrainingJobName' || path === 'TrainingJobArn' || path === 'ModelArtifacts.S3ModelArtifacts') return 'String';
      const metric = /^FinalMetricDataList\['([^']+)'\]\.Value$/.exec(path)?.[1];
      return metric !== undefined && (spec.AlgorithmSpecification.MetricDefinitions ?? []).some((definition) => definition.Name === metric) ? 'Float' : undefined;
    }
    case 'Tuning': {
      if (['HyperParameterTuningJobName', 'HyperParameterTuningJobArn', 'BestTrainingJob.TrainingJobName', 'BestTrainingJob.ModelArtifacts.S3ModelArtifacts'].includes(path)) return 'String';
      if (path === 'BestTrainingJob.FinalHyperParameterTuningJobObjectiveMetric.Value') return 'Float';
      const tuned = /^BestTrainingJob\.TunedHyperParameters\['([^']+)'\]$/.exec(path)?.[1];
      return tuned !== undefined && tunedNames(spec).includes(tuned) ? 'String' : undefined;
    }
    case 'Transform':
      return ['TransformJobName', 'TransformJobArn', 'TransformOutput.S3OutputPath'].includes(path) ? 'String' : undefined;
    case 'RegisterModel':
      return path === 'ModelPackageArn' ? 'String' : undefined;
    case 'Condition':
      return path === 'Outcome' ? 'Boolean' : undefined;
    case 'Fail':
    case 'ForEach':
      return undefined;
  }
}

/** The hyperparameters a Tuning step tunes, in the order its ranges list them. Pure. */
export function tunedNames(spec: TuningStep): string[] {
  const ranges = spec.HyperParameterTuningJobConfig.ParameterRanges;
  return [...ranges.IntegerParameterRanges, ...ranges.ContinuousParameterRanges, ...ranges.CategoricalParameterRanges].map((range) => range.Name);
}

/** A Tuning step's own rules: the objective among the metrics, tuned names tuned once and not also static. Pure; appends issues. */
function tuningIssues(name: string, spec: TuningStep, issues: string[]): void {
  const at = `Steps.${name}`;
  const config = spec.HyperParameterTuningJobConfig;
  const metrics = spec.TrainingJobDefinition.AlgorithmSpecification.MetricDefinitions.map((metric) => metric.Name);
  const objective = config.HyperParameterTuningJobObjective.MetricName;
  if (!metrics.includes(objective)) {
    issues.push(`${at}.HyperParameterTuningJobConfig.HyperParameterTuningJobObjective.MetricName: "${objective}" is not among TrainingJobDefinition.AlgorithmSpecification.MetricDefinitions (metrics: ${metrics.join(', ')})`);
  }
  const tuned = tunedNames(spec);
  if (tuned.length === 0) issues.push(`${at}.HyperParameterTuningJobConfig.ParameterRanges: needs at least one range to tune`);
  if (tuned.length > 30) issues.push(`${at}.HyperParameterTuningJobConfig.ParameterRanges: tunes ${tuned.length} hyperparameters; SageMaker tunes at most 30`);
  const duplicate = tuned.find((tunedName, index) => tuned.indexOf(tunedName) !== index);
  if (duplicate !== undefined) issues.push(`${at}.HyperParameterTuningJobConfig.ParameterRanges: "${duplicate}" has more than one range`);
  for (const tunedName of tuned) {
    if (Object.hasOwn(spec.TrainingJobDefinition.StaticHyperParameters, tunedName)) {
      issues.push(`${at}.TrainingJobDefinition.StaticHyperParameters.${tunedName}: "${tunedName}" is tuned (ParameterRanges) and cannot also be static`);
    }
  }
  const ranges = config.ParameterRanges;
  if (config.Strategy === 'Grid' && (ranges.IntegerParameterRanges.length > 0 || ranges.ContinuousParameterRanges.length > 0)) {
    issues.push(`${at}.HyperParameterTuningJobConfig.Strategy: Grid searches categorical ranges only (CategoricalParameterRanges)`);
  }
  if (config.Strategy !== 'Grid' && config.ResourceLimits.MaxNumberOfTrainingJobs === undefined) {
    issues.push(`${at}.HyperParameterTuningJobConfig.ResourceLimits.MaxNumberOfTrainingJobs: required unless Strategy is Grid`);
  }
  if (config.Strategy === 'Hyperband' && config.TrainingJobEarlyStoppingType === 'Auto') {
    issues.push(`${at}.HyperParameterTuningJobConfig.TrainingJobEarlyStoppingType: Hyperband stops trials early by itself; leave it Off`);
  }
}

/** The properties of a step type, for error messages. *//** The properties of a step type, for error messages. */
function propertyHelp(spec: StepSpec): string {
  switch (spec.Type) {
    case 'Processing':
      return `ProcessingJobName, ProcessingJobArn, ProcessingOutputConfig.Outputs['<output>'].S3Output.S3Uri (outputs: ${spec.Outputs.join(', ') || 'none'})`;
    case 'Training':
      return `TrainingJobName, TrainingJobArn, ModelArtifacts.S3ModelArtifacts, FinalMetricDataList['<metric>'].Value (metrics: ${(spec.AlgorithmSpecification.MetricDefinitions ?? []).map((m) => m.Name).join(', ') || 'none defined'})`;
    case 'Tuning':
      return `HyperParameterTuningJobName, HyperParameterTuningJobArn, BestTrainingJob.TrainingJobName, BestTrainingJob.ModelArtifacts.S3ModelArtifacts, BestTrainingJob.FinalHyperParameterTuningJobObjectiveMetric.Value, BestTrainingJob.TunedHyperParameters['<name>'] (tuned: ${tunedNames(spec).join(', ') || 'none'})`;
    case 'Transform':
      return 'TransformJobName, TransformJobArn, TransformOutput.S3OutputPath';
    case 'RegisterModel':
      return 'ModelPackageArn';
    case 'Condition':
      return 'Outcome';
    case 'Fail':
      return 'none (a Fail step ends the run)';
    case 'ForEach':
      return 'none (a later Processing step reads every item\'s output with From: <ForEach>/<inner step>/<output>)';
  }
}

/**
 * Analyses a parsed Version 2 pipeline. Returns the graph and every problem found (empty when the
 * pipeline is valid); each problem starts with the field path that holds it. Pure.
 */
export function analysePipeline(config: PipelineConfig): { graph: PipelineGraph; issues: string[] } {
  const steps = config.Steps;
  const order = Object.keys(steps);
  const issues: string[] = [];
  const known = (name: string) => Object.hasOwn(steps, name);
  const stepList = () => order.join(', ');

  // ForEach steps: their inner steps, named uniquely across the pipeline.
  const forEachOf = new Map<string, string>();
  const innerSpecs = new Map<string, InnerStepSpec>();
  const forEach = new Map<string, { order: string[] }>();
  for (const name of order) {
    const spec = steps[name]!;
    if (spec.Type !== 'ForEach') continue;
    const innerOrder = Object.keys(spec.Steps).filter((inner) => {
      const field = `Steps.${name}.Steps.${inner}`;
      const innerType = spec.Steps[inner]!.Type;
      if (innerType === 'Condition' || innerType === 'Fail') {
        issues.push(`${field}.Type: a ${innerType} step cannot run inside a ForEach in this version (inner steps: Processing, Training, Tuning, Transform, RegisterModel)`);
      }
      if (known(inner)) issues.push(`${field}: the name "${inner}" is also a step at the top level; step names are unique across the pipeline`);
      else if (forEachOf.has(inner)) issues.push(`${field}: the name "${inner}" is also a step of ForEach "${forEachOf.get(inner)}"; step names are unique across the pipeline`);
      else {
        forEachOf.set(inner, name);
        innerSpecs.set(inner, spec.Steps[inner]!);
        return true;
      }
      return false;
    });
    forEach.set(name, { order: innerOrder });
    const tooMany = Array.isArray(spec.Items) ? historyIssue(`Steps.${name}.Items`, spec.Items.length, Object.keys(spec.Steps).length) : undefined;
    if (tooMany) issues.push(tooMany);
  }
  const innerNames = [...forEachOf.keys()];
  /** Any step, top level or inner. */
  const specOf = (name: string): StepSpec | InnerStepSpec | undefined => (known(name) ? steps[name] : innerSpecs.get(name));
  const exists = (name: string) => specOf(name) !== undefined;
  /** The ForEach around the step being analysed (ForEach.Item and ForEach.Index are valid only there). */
  let currentForEach: string | undefined;
  /** The literal items of a ForEach (undefined when they come at run time). */
  const literalItems = (name: string) => {
    const spec = steps[name];
    return spec?.Type === 'ForEach' && Array.isArray(spec.Items) ? spec.Items : undefined;
  };

  // Branches: each step listed in at most one Condition branch.
  const branchOf = new Map<string, Branch>();
  for (const name of order) {
    const spec = steps[name]!;
    if (spec.Type !== 'Condition') continue;
    for (const side of ['If', 'Else'] as const) {
      spec[side].forEach((listed, index) => {
        const field = `Steps.${name}.${side}[${index}]`;
        if (!known(listed)) issues.push(`${field}: no step "${listed}" (steps: ${stepList()})`);
        else if (listed === name) issues.push(`${field}: a Condition cannot list itself`);
        else if (branchOf.has(listed)) {
          const first = branchOf.get(listed)!;
          issues.push(`${field}: "${listed}" is already in the ${first.side} branch of "${first.condition}"; a step belongs to one branch`);
        } else branchOf.set(listed, { condition: name, side });
      });
    }
  }

  /** The chain of branches around a step, innermost first. */
  const chain = (name: string): Branch[] => {
    const out: Branch[] = [];
    const seen = new Set<string>();
    for (let branch = branchOf.get(name); branch && !seen.has(branch.condition); branch = branchOf.get(branch.condition)) {
      seen.add(branch.condition);
      out.push(branch);
    }
    return out;
  };
  const sameBranch = (a: Branch | undefined, b: Branch | undefined) => a?.condition === b?.condition && a?.side === b?.side;

  const typeOf = (use: { field: string; value: Value }, found: Set<string>): ValueType => {
    const { field, value } = use;
    if (typeof value === 'string') return 'String';
    if (typeof value === 'number') return Number.isInteger(value) ? 'Integer' : 'Float';
    if (typeof value === 'boolean') return 'Boolean';
    if (isJoin(value)) {
      value['Std:Join'].Values.forEach((inner, index) => typeOf({ field: `${field}.Std:Join.Values[${index}]`, value: inner }, found));
      return 'String';
    }
    if (isJsonGet(value)) {
      const get = value['Std:JsonGet'].PropertyFile.Get;
      const [, step = '', file = ''] = /^Steps\.([^.]+)\.PropertyFiles\.(.+)$/.exec(get) ?? [];
      checkPropertyFile(`${field}.Std:JsonGet.PropertyFile.Get`, step, file, found);
      return 'Unknown';
    }
    if (isGet(value)) {
      const ref = value.Get;
      const item = FOR_EACH_REF.exec(ref);
      if (item) return itemType(field, ref, item[1]!, item[2]);
      if (ref.startsWith('Parameters.')) {
        const parameter = ref.slice('Parameters.'.length);
        const spec = config.Parameters[parameter];
        if (!spec || !Object.hasOwn(config.Parameters, parameter)) {
          issues.push(`${field}.Get: no parameter "${parameter}" (parameters: ${Object.keys(config.Parameters).join(', ') || 'none'})`);
          return 'Unknown';
        }
        return spec.Type;
      }
      const [, step = '', path = ''] = /^Steps\.([^.]+)\.(.+)$/.exec(ref) ?? [];
      const target = specOf(step);
      if (!target) {
        issues.push(`${field}.Get: no step "${step}" (steps: ${stepList()})`);
        return 'Unknown';
      }
      found.add(step);
      if (path.startsWith('PropertyFiles.')) {
        issues.push(`${field}.Get: a property file is read with Std:JsonGet, e.g. {Std:JsonGet: {PropertyFile: {Get: ${ref}}, Path: <path>}}`);
        return 'Unknown';
      }
      const type = propertyType(target, path);
      if (!type) issues.push(`${field}.Get: "${path}" is not a property of ${target.Type} step "${step}" (properties: ${propertyHelp(target)})`);
      return type ?? 'Unknown';
    }
    return 'Unknown';
  };

  /** The type of `ForEach.Index`, `ForEach.Item` or `ForEach.Item.<key>`, checked against the ForEach around the step. */
  function itemType(field: string, ref: string, what: string, key: string | undefined): ValueType {
    if (currentForEach === undefined) {
      issues.push(`${field}.Get: ${ref} can be read only inside a ForEach's Steps`);
      return 'Unknown';
    }
    if (what === 'Index') return 'Integer';
    const items = literalItems(currentForEach);
    if (!items) return 'Unknown';
    const objects = items.every((item) => typeof item === 'object');
    if (key === undefined) {
      if (items.some((item) => typeof item === 'object')) issues.push(`${field}.Get: the items of ForEach "${currentForEach}" are objects; read a field with ForEach.Item.<key>`);
      const kinds = new Set(items.map((item) => (typeof item === 'number' ? (Number.isInteger(item) ? 'Integer' : 'Float') : typeof item === 'boolean' ? 'Boolean' : typeof item === 'string' ? 'String' : 'Unknown')));
      if (kinds.size === 1) return [...kinds][0] as ValueType;
      return kinds.size === 2 && kinds.has('Integer') && kinds.has('Float') ? 'Float' : 'Unknown';
    }
    if (!objects) {
      issues.push(`${field}.Get: the items of ForEach "${currentForEach}" are not objects; read the item itself with ForEach.Item`);
      return 'Unknown';
    }
    const missing = items.findIndex((item) => typeof item === 'object' && !Object.hasOwn(item, key));
    if (missing >= 0) issues.push(`${field}.Get: item ${missing} of ForEach "${currentForEach}" has no key "${key}"`);
    return 'Unknown';
  }

  function checkPropertyFile(field: string, step: string, file: string, found: Set<string>): void {
    if (!exists(step)) {
      issues.push(`${field}: no step "${step}" (steps: ${stepList()})`);
      return;
    }
    found.add(step);
    const spec = specOf(step)!;
    const files = spec.Type === 'Processing' ? spec.PropertyFiles.map((p) => p.PropertyFileName) : [];
    if (!files.includes(file)) issues.push(`${field}: step "${step}" has no property file "${file}" (property files: ${files.join(', ') || 'none'})`);
  }

  const all = [...order, ...innerNames];
  const dependencies = new Map<string, Set<string>>(all.map((name) => [name, new Set<string>()]));
  /** Edges for cycle detection: every dependency, plus branch steps after their Condition, inner steps after their ForEach. */
  const ordering = new Map<string, Set<string>>(all.map((name) => [name, new Set<string>()]));
  const referenced = new Map<string, StepRef[]>(all.map((name) => [name, []]));

  for (const name of all) {
    const spec = specOf(name)!;
    currentForEach = forEachOf.get(name);
    const at = currentForEach === undefined ? `Steps.${name}` : `Steps.${currentForEach}.Steps.${name}`;
    const uses = stepUses(at, spec);
    const found = new Set<string>();
    const refs: StepRef[] = [];

    for (const use of uses.values) {
      const before = new Set(found);
      const type = typeOf(use, found);
      for (const step of found) if (!before.has(step)) refs.push({ field: use.field, step });
      if (use.kind === 'integer' && type !== 'Integer' && type !== 'Unknown') issues.push(`${use.field}: needs an integer, but the value is ${type === 'Float' ? 'a Float' : `a ${type}`}`);
      if (use.kind === 'list') {
        if (isGet(use.value) && !use.value.Get.startsWith('Parameters.')) issues.push(`${use.field}: a ForEach's Items are a list, {Get: Parameters.<String parameter holding a JSON list>} or {Std:JsonGet: …} (a JSON list in a step's report)`);
        else if (type !== 'String' && type !== 'Unknown') issues.push(`${use.field}: needs a String parameter holding a JSON list, but the parameter is a ${type}`);
        else if (isGet(use.value)) {
          // The values the file gives the parameter must be lists of items already.
          const parameter = config.Parameters[use.value.Get.slice('Parameters.'.length)];
          const candidates = parameter?.Type === 'String' ? [parameter.Default, ...(parameter.EnumValues ?? [])] : [];
          for (const candidate of new Set(candidates)) {
            const problem = itemsProblem(candidate);
            if (problem) issues.push(`${use.field}: ${use.value.Get} may be ${JSON.stringify(candidate).slice(0, 100)}, ${problem}`);
          }
        }
      }
    }
    for (const { field, condition } of uses.conditions) {
      const values: { field: string; value: Value }[] = [];
      conditionValues(field, condition, values);
      const types = new Map<string, ValueType>();
      for (const value of values) {
        const before = new Set(found);
        types.set(value.field, typeOf(value, found));
        for (const step of found) if (!before.has(step)) refs.push({ field: value.field, step });
      }
      checkConditionTypes(field, condition, types, issues);
    }
    for (const from of uses.froms) {
      if (from.inner !== undefined) {
        const owner = steps[from.step];
        if (!from.perItemAllowed) issues.push(`${from.field}: "${from.step}/${from.inner}/${from.output}" (the output of every item of a ForEach) can be read only by a Processing step's Inputs`);
        else if (!known(from.step)) issues.push(`${from.field}: no step "${from.step}" (steps: ${stepList()})`);
        else if (owner?.Type !== 'ForEach') issues.push(`${from.field}: step "${from.step}" is a ${owner!.Type} step, not a ForEach ("<ForEach>/<inner step>/<output>")`);
        else if (!Object.hasOwn(owner.Steps, from.inner)) issues.push(`${from.field}: ForEach "${from.step}" has no step "${from.inner}" (its steps: ${Object.keys(owner.Steps).join(', ')})`);
        else {
          const inner = owner.Steps[from.inner]!;
          if (inner.Type === 'Processing' && !inner.Outputs.includes(from.output)) issues.push(`${from.field}: step "${from.inner}" has no output "${from.output}" (outputs: ${inner.Outputs.join(', ') || 'none'})`);
          else if ((inner.Type === 'Training' || inner.Type === 'Tuning') && from.output !== 'model') issues.push(`${from.field}: a ${inner.Type} step's output is "${from.step}/${from.inner}/model" (its model artifacts), not "${from.output}"`);
          else if (inner.Type === 'Transform' && from.output !== 'output') issues.push(`${from.field}: a Transform step's output is "${from.step}/${from.inner}/output" (the prefix of its .out files), not "${from.output}"`);
          else if (!['Processing', 'Training', 'Tuning', 'Transform'].includes(inner.Type)) issues.push(`${from.field}: step "${from.inner}" is a ${inner.Type} step and has no outputs`);
          if (currentForEach === from.step) issues.push(`${from.field}: a step inside ForEach "${from.step}" reads its sibling's output of the same item as "${from.inner}/${from.output}"`);
          else refs.push({ field: from.field, step: from.step });
        }
        continue;
      }
      const target = specOf(from.step);
      if (!target) {
        issues.push(`${from.field}: no step "${from.step}" (steps: ${stepList()})`);
        continue;
      }
      if (target.Type === 'Processing' && !target.Outputs.includes(from.output)) {
        issues.push(`${from.field}: step "${from.step}" has no output "${from.output}" (outputs: ${target.Outputs.join(', ') || 'none'})`);
      } else if (target.Type === 'Training' && from.output !== 'model') {
        issues.push(`${from.field}: a Training step's output is "${from.step}/model" (its model artifacts), not "${from.output}"`);
      } else if (target.Type === 'Tuning' && from.output !== 'model') {
        issues.push(`${from.field}: a Tuning step's output is "${from.step}/model" (its best training job's model artifacts), not "${from.output}"`);
      } else if (target.Type === 'Transform' && from.output !== 'output') {
        issues.push(`${from.field}: a Transform step's output is "${from.step}/output" (the prefix of its .out files), not "${from.output}"`);
      } else if (!['Processing', 'Training', 'Tuning', 'Transform'].includes(target.Type)) {
        issues.push(`${from.field}: step "${from.step}" is a ${target.Type} step and has no outputs`);
      }
      const modelData = spec.Type === 'RegisterModel' || (spec.Type === 'Transform' && from.field.endsWith('.Model.ModelData.From'));
      if (modelData && target.Type !== 'Training' && target.Type !== 'Tuning') issues.push(`${from.field}: ModelData comes from a Training or Tuning step ("<step>/model")`);
      refs.push({ field: from.field, step: from.step });
    }
    for (const file of uses.propertyFiles) {
      const before = new Set(found);
      checkPropertyFile(file.field, file.step, file.file, found);
      for (const step of found) if (!before.has(step)) refs.push({ field: file.field, step });
    }
    for (const dependency of uses.dependsOn) {
      if (!exists(dependency.step)) issues.push(`${dependency.field}: no step "${dependency.step}" (steps: ${stepList()})`);
      else refs.push(dependency);
    }
    if (spec.Type === 'Tuning') tuningIssues(name, spec, issues);
    if (spec.Type === 'Processing') {
      if (Object.hasOwn(spec.Inputs, 'code')) issues.push(`Steps.${name}.Inputs.code: the name "code" is reserved for the source tree`);
      spec.PropertyFiles.forEach((file, index) => {
        if (!spec.Outputs.includes(file.OutputName)) issues.push(`Steps.${name}.PropertyFiles[${index}].OutputName: "${file.OutputName}" is not listed in Steps.${name}.Outputs`);
      });
      const duplicates = spec.PropertyFiles.map((file) => file.PropertyFileName).filter((file, index, all) => all.indexOf(file) !== index);
      if (duplicates.length > 0) issues.push(`Steps.${name}.PropertyFiles: "${duplicates[0]}" is named twice`);
    }

    for (const ref of refs) {
      if (ref.step === name) {
        issues.push(`${ref.field}: step "${name}" refers to itself`);
        continue;
      }
      const target = specOf(ref.step);
      if (!target) continue;
      if (target.Type === 'Fail') issues.push(`${ref.field}: "${ref.step}" is a Fail step: it ends the run, nothing can wait for it`);
      const targetForEach = forEachOf.get(ref.step);
      if (ref.step === currentForEach) {
        issues.push(`${ref.field}: a step inside ForEach "${ref.step}" cannot wait for the ForEach itself`);
      } else if (targetForEach !== undefined && targetForEach !== currentForEach) {
        issues.push(`${ref.field}: "${ref.step}" runs once per item inside ForEach "${targetForEach}"; outside it, a Processing step reads every item's output with From: ${targetForEach}/${ref.step}/<output>`);
      } else if (targetForEach !== undefined) {
        // An inner sibling: a dependency inside the item's own sub-graph.
        dependencies.get(name)!.add(ref.step);
        ordering.get(name)!.add(ref.step);
      } else if (currentForEach !== undefined) {
        // Outside the ForEach: the ForEach itself waits for it.
        referenced.get(currentForEach)!.push(ref);
        ordering.get(currentForEach)!.add(ref.step);
      } else {
        referenced.get(name)!.push(ref);
        ordering.get(name)!.add(ref.step);
      }
    }
  }
  currentForEach = undefined;
  for (const [inner, owner] of forEachOf) ordering.get(inner)!.add(owner);

  // Branch rules, then the implicit waits that put each dependency in the branch's frame.
  for (const [step, branch] of branchOf) ordering.get(step)!.add(branch.condition);
  for (const name of order) {
    const own = chain(name);
    for (const ref of referenced.get(name)!) {
      const targetChain = chain(ref.step);
      const target = targetChain[0];
      // The dependency's branch must enclose this step's (or be the same), or it might not have run.
      const enclosingIndex = target === undefined ? own.length : own.findIndex((branch) => sameBranch(branch, target));
      if (enclosingIndex < 0) {
        issues.push(`${ref.field}: "${ref.step}" runs only in the ${target!.side} branch of Condition "${target!.condition}"; "${name}" is outside that branch, so it cannot wait for it`);
        continue;
      }
      if (enclosingIndex === 0) dependencies.get(name)!.add(ref.step);
      else {
        // In the dependency's frame, the Condition whose branch holds this step waits for it.
        const condition = own[enclosingIndex - 1]!.condition;
        if (condition !== ref.step) {
          dependencies.get(condition)!.add(ref.step);
          ordering.get(condition)!.add(ref.step);
        }
      }
    }
  }

  const cycle = findCycle(all, ordering);
  if (cycle) issues.push(`Steps: the steps form a cycle: ${cycle.join(' → ')}`);

  return { graph: { order, dependencies, branchOf, forEach }, issues };
}

/** Comparisons need comparable operands; `In` needs values like its operand. Pure; appends issues. */
function checkConditionTypes(field: string, condition: Condition, types: Map<string, ValueType>, issues: string[]): void {
  const kind = (type: ValueType | undefined) => (type === undefined || type === 'Unknown' ? 'unknown' : NUMERIC.has(type) ? 'number' : type === 'Boolean' ? 'boolean' : 'string');
  if ('Left' in condition) {
    const left = types.get(`${field}.Left`);
    const right = types.get(`${field}.Right`);
    const ordered = ['<', '<=', '>', '>='].includes(condition.Operator);
    if (ordered) {
      for (const [side, type] of [['Left', left], ['Right', right]] as const) {
        if (type !== undefined && !NUMERIC.has(type)) issues.push(`${field}.${side}: "${condition.Operator}" compares numbers, but this value is a ${type}`);
      }
    } else if (kind(left) !== 'unknown' && kind(right) !== 'unknown' && kind(left) !== kind(right)) {
      const article = (type: ValueType | undefined) => (type === 'Integer' ? 'an' : 'a');
      issues.push(`${field}: "${condition.Operator}" compares ${article(left)} ${left} with ${article(right)} ${right}`);
    }
  } else if ('In' in condition) {
    const value = kind(types.get(`${field}.In.Value`));
    condition.In.Values.forEach((_item, index) => {
      const item = kind(types.get(`${field}.In.Values[${index}]`));
      if (value !== 'unknown' && item !== 'unknown' && item !== value) issues.push(`${field}.In.Values[${index}]: a ${item} cannot equal the ${value} In.Value`);
    });
  } else if ('Not' in condition) {
    checkConditionTypes(`${field}.Not`, condition.Not, types, issues);
  } else if ('And' in condition) {
    condition.And.forEach((inner, index) => checkConditionTypes(`${field}.And[${index}]`, inner, types, issues));
  } else {
    condition.Or.forEach((inner, index) => checkConditionTypes(`${field}.Or[${index}]`, inner, types, issues));
  }
}

/** A cycle in `edges` (step → what it waits for) as a closed path, or undefined. Pure. */
function findCycle(order: readonly string[], edges: Map<string, Set<string>>): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): string[] | undefined => {
    state.set(node, 'visiting');
    stack.push(node);
    for (const next of [...(edges.get(node) ?? [])].sort((a, b) => order.indexOf(a) - order.indexOf(b))) {
      if (state.get(next) === 'visiting') return [...stack.slice(stack.indexOf(next)), next].reverse();
      if (!state.has(next)) {
        const found = visit(next);
        if (found) return found;
      }
    }
    stack.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of order) {
    if (state.has(node)) continue;
    const found = visit(node);
    if (found) return found;
  }
  return undefined;
}
