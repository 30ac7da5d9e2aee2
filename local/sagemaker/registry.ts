import { join } from 'node:path';

import { type DescribeModelPackageGroupOutput, type DescribeModelPackageOutput, ModelApprovalStatus, ModelPackageGroupStatus, ModelPackageStatus } from '@aws-sdk/client-sagemaker';

import type { ServiceContext } from '../context';
import { epochSeconds, type JsonOperations, requireString } from '../http/aws-json';
import { JsonStore } from '../store/json-store';
import {
  listPage,
  nameKey,
  NAME_PATTERN,
  optionalObject,
  optionalString,
  optionalStringMap,
  publishSageMakerEvent,
  readListQuery,
  readTags,
  requireName,
  resourceArn,
  validationError,
} from './common';
import type { TagStore } from './tags';
import type { Wire } from './types';

/**
 * The Model Registry: model package groups and their versioned model packages (1, 2, … per
 * group). Creating a package and changing one publish `SageMaker Model Package State Change`.
 * Unversioned packages (ModelPackageName without a group) are not emulated.
 */

type GroupDescribe = Wire<DescribeModelPackageGroupOutput>;
type PackageDescribe = Wire<DescribeModelPackageOutput>;

interface PackageRecord {
  describe: PackageDescribe;
  clientToken?: string;
}

/** EventBridge detail-type of model package events (source aws.sagemaker). */
export const DETAIL_TYPE_MODEL_PACKAGE = 'SageMaker Model Package State Change';

const APPROVAL_STATUSES: readonly string[] = Object.values(ModelApprovalStatus);
/** Input fields CreateModelPackage keeps on the package as given. */
const KEPT_FIELDS = [
  'ModelPackageDescription',
  'InferenceSpecification',
  'ValidationSpecification',
  'SourceAlgorithmSpecification',
  'CertifyForMarketplace',
  'MetadataProperties',
  'ModelMetrics',
  'CustomerMetadataProperties',
  'DriftCheckBaselines',
  'Domain',
  'Task',
  'SamplePayloadUrl',
  'AdditionalInferenceSpecifications',
  'SkipModelValidation',
  'SourceUri',
  'ModelCard',
  'ModelLifeCycle',
  'SecurityConfig',
] as const;

/** Model package groups and versioned model packages, durable under `<dataDir>/model-package-*`. */
export class ModelRegistry {
  private readonly groups: JsonStore<GroupDescribe>;
  private readonly packages: JsonStore<PackageRecord>;

  constructor(
    private readonly ctx: ServiceContext,
    private readonly tags: TagStore,
  ) {
    this.groups = new JsonStore(join(ctx.dataDir, 'model-package-groups'));
    this.packages = new JsonStore(join(ctx.dataDir, 'model-packages'));
  }

  /** The operations this module serves. */
  operations(): JsonOperations {
    return {
      CreateModelPackageGroup: async (input) => this.createGroup(input),
      DescribeModelPackageGroup: async (input) => this.group(requireString(input, 'ModelPackageGroupName')),
      ListModelPackageGroups: async (input) => this.listGroups(input),
      CreateModelPackage: async (input) => this.createPackage(input),
      DescribeModelPackage: async (input) => this.package(requireString(input, 'ModelPackageName')).describe,
      ListModelPackages: async (input) => this.listPackages(input),
      UpdateModelPackage: async (input) => this.updatePackage(input),
    };
  }

  /** Whether `arn` names a group or a package of this registry (for AddTags/ListTags). */
  hasResource(arn: string): boolean {
    if (/:model-package-group\//.test(arn)) return this.findGroup(arn) !== undefined;
    if (/:model-package\//.test(arn)) return this.findPackage(arn) !== undefined;
    return false;
  }

  /** A model package's description by ARN, or undefined (CreateModel's ModelPackageName). */
  describePackage(arn: string): PackageDescribe | undefined {
    return this.findPackage(arn)?.describe;
  }

  private createGroup(input: Record<string, unknown>): { ModelPackageGroupArn: string } {
    const name = requireName(input, 'ModelPackageGroupName');
    const description = optionalString(input, 'ModelPackageGroupDescription');
    const tags = readTags(input);
    const arn = resourceArn(this.ctx, 'model-package-group', name);
    // SageMaker answers a duplicate group this way (not ResourceInUse).
    if (this.groups.get(nameKey(name))) throw validationError(`Model Package Group already exists: ${arn}`);
    this.groups.put(nameKey(name), {
      ModelPackageGroupName: name,
      ModelPackageGroupArn: arn,
      ModelPackageGroupDescription: description,
      CreationTime: epochSeconds(),
      CreatedBy: {},
      ModelPackageGroupStatus: ModelPackageGroupStatus.COMPLETED,
    });
    this.tags.put(arn, tags);
    return { ModelPackageGroupArn: arn };
  }

  /** A group by name or ARN. */
  private findGroup(nameOrArn: string): GroupDescribe | undefined {
    const name = nameOrArn.startsWith('arn:') ? nameOrArn.slice(nameOrArn.lastIndexOf('/') + 1) : nameOrArn;
    return NAME_PATTERN.test(name) ? this.groups.get(nameKey(name)) : undefined;
  }

  private group(nameOrArn: string): GroupDescribe {
    const group = this.findGroup(nameOrArn);
    if (!group) throw validationError(`ModelPackageGroup ${nameOrArn} does not exist.`);
    return group;
  }

  private listGroups(input: Record<string, unknown>): unknown {
    const { page, NextToken } = listPage(
      this.groups.list().map(({ value }) => value),
      (g) => ({ name: g.ModelPackageGroupName ?? '', status: g.ModelPackageGroupStatus, creationTime: g.CreationTime ?? 0 }),
      readListQuery(input),
    );
    return {
      ModelPackageGroupSummaryList: page.map((g) => ({
        ModelPackageGroupName: g.ModelPackageGroupName,
        ModelPackageGroupArn: g.ModelPackageGroupArn,
        ModelPackageGroupDescription: g.ModelPackageGroupDescription,
        CreationTime: g.CreationTime,
        ModelPackageGroupStatus: g.ModelPackageGroupStatus,
      })),
      NextToken,
    };
  }

  private packagesOf(groupName: string): PackageRecord[] {
    const prefix = `${nameKey(groupName)}@`;
    return this.packages
      .list()
      .filter(({ key }) => key.startsWith(prefix))
      .map(({ value }) => value);
  }

  private async createPackage(input: Record<string, unknown>): Promise<{ ModelPackageArn: string }> {
    const groupRef = optionalString(input, 'ModelPackageGroupName');
    if (!groupRef) throw validationError('ModelPackageGroupName is required: the local runtime emulates versioned model packages only');
    const group = this.group(groupRef);
    const groupName = group.ModelPackageGroupName!;
    const clientToken = optionalString(input, 'ClientToken');
    const existing = this.packagesOf(groupName);
    if (clientToken !== undefined) {
      const earlier = existing.find((record) => record.clientToken === clientToken);
      if (earlier) return { ModelPackageArn: earlier.describe.ModelPackageArn! };
    }
    const approval = optionalString(input, 'ModelApprovalStatus') ?? ModelApprovalStatus.PENDING_MANUAL_APPROVAL;
    if (!APPROVAL_STATUSES.includes(approval)) throw validationError(`Value '${approval}' at 'modelApprovalStatus' failed to satisfy constraint: Member must satisfy enum value set: [${APPROVAL_STATUSES.join(', ')}]`);
    optionalStringMap(input, 'CustomerMetadataProperties');
    optionalObject(input, 'InferenceSpecification');
    const tags = readTags(input);
    const version = existing.reduce((max, record) => Math.max(max, record.describe.ModelPackageVersion ?? 0), 0) + 1;
    const arn = `${resourceArn(this.ctx, 'model-package', groupName)}/${version}`;
    const now = epochSeconds();
    const kept = Object.fromEntries(KEPT_FIELDS.filter((field) => input[field] !== undefined).map((field) => [field, input[field]]));
    const describe: PackageDescribe = {
      ...kept,
      ModelPackageName: groupName,
      ModelPackageGroupName: groupName,
      ModelPackageVersion: version,
      ModelPackageArn: arn,
      CreationTime: now,
      ModelPackageStatus: ModelPackageStatus.COMPLETED,
      ModelPackageStatusDetails: { ValidationStatuses: [], ImageScanStatuses: [] },
      CertifyForMarketplace: input.CertifyForMarketplace === true,
      ModelApprovalStatus: approval as ModelApprovalStatus,
      CreatedBy: {},
      LastModifiedTime: now,
    };
    this.packages.put(packageKey(groupName, version), { describe, clientToken });
    this.tags.put(arn, tags);
    await this.publish(describe);
    return { ModelPackageArn: arn };
  }

  /** A package by ARN (`…:model-package/<group>/<version>`). */
  private findPackage(arn: string): PackageRecord | undefined {
    const match = /:model-package\/([^/]+)\/(\d+)$/.exec(arn);
    if (!match) return undefined;
    const group = this.findGroup(match[1]!);
    return group ? this.packages.get(packageKey(group.ModelPackageGroupName!, Number(match[2]))) : undefined;
  }

  private package(arn: string): PackageRecord {
    const record = this.findPackage(arn);
    if (!record) throw validationError(`ModelPackage ${arn} does not exist.`);
    return record;
  }

  private listPackages(input: Record<string, unknown>): unknown {
    const groupRef = optionalString(input, 'ModelPackageGroupName');
    const approval = optionalString(input, 'ModelApprovalStatus');
    const records = groupRef === undefined ? this.packages.list().map(({ value }) => value) : this.packagesOf(this.findGroup(groupRef)?.ModelPackageGroupName ?? groupRef);
    const { page, NextToken } = listPage(
      records.filter((record) => approval === undefined || record.describe.ModelApprovalStatus === approval).map((record) => record.describe),
      (p) => ({ name: p.ModelPackageName ?? '', creationTime: p.CreationTime ?? 0, lastModifiedTime: p.LastModifiedTime }),
      readListQuery(input),
    );
    return {
      ModelPackageSummaryList: page.map((p) => ({
        ModelPackageName: p.ModelPackageName,
        ModelPackageGroupName: p.ModelPackageGroupName,
        ModelPackageVersion: p.ModelPackageVersion,
        ModelPackageArn: p.ModelPackageArn,
        ModelPackageDescription: p.ModelPackageDescription,
        CreationTime: p.CreationTime,
        ModelPackageStatus: p.ModelPackageStatus,
        ModelApprovalStatus: p.ModelApprovalStatus,
      })),
      NextToken,
    };
  }

  private async updatePackage(input: Record<string, unknown>): Promise<{ ModelPackageArn: string }> {
    const arn = requireString(input, 'ModelPackageArn');
    const record = this.package(arn);
    const approval = optionalString(input, 'ModelApprovalStatus');
    if (approval !== undefined && !APPROVAL_STATUSES.includes(approval)) throw validationError(`Value '${approval}' at 'modelApprovalStatus' failed to satisfy constraint: Member must satisfy enum value set: [${APPROVAL_STATUSES.join(', ')}]`);
    const description = optionalString(input, 'ApprovalDescription');
    const addMetadata = optionalStringMap(input, 'CustomerMetadataProperties');
    const removeMetadata = input.CustomerMetadataPropertiesToRemove;
    if (removeMetadata !== undefined && (!Array.isArray(removeMetadata) || removeMetadata.some((key) => typeof key !== 'string'))) throw validationError("Value at 'customerMetadataPropertiesToRemove' must be a list of strings");
    const describe = record.describe;
    if (approval !== undefined) describe.ModelApprovalStatus = approval as ModelApprovalStatus;
    if (description !== undefined) describe.ApprovalDescription = description;
    if (addMetadata || removeMetadata) {
      const metadata = { ...describe.CustomerMetadataProperties, ...addMetadata };
      for (const key of (removeMetadata as string[] | undefined) ?? []) delete metadata[key];
      describe.CustomerMetadataProperties = metadata;
    }
    const inference = optionalObject<NonNullable<PackageDescribe['InferenceSpecification']>>(input, 'InferenceSpecification');
    if (inference) describe.InferenceSpecification = inference;
    describe.LastModifiedTime = epochSeconds();
    describe.LastModifiedBy = {};
    this.packages.put(packageKey(describe.ModelPackageGroupName!, describe.ModelPackageVersion!), record);
    await this.publish(describe);
    return { ModelPackageArn: describe.ModelPackageArn! };
  }

  /** The event carries the package's description with ISO timestamps, as AWS's example does. */
  private async publish(describe: PackageDescribe): Promise<void> {
    const iso = (seconds: number | undefined) => (seconds === undefined ? undefined : new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'));
    const detail: Record<string, unknown> = { ...describe, CreationTime: iso(describe.CreationTime), LastModifiedTime: iso(describe.LastModifiedTime) };
    await publishSageMakerEvent(this.ctx, DETAIL_TYPE_MODEL_PACKAGE, describe.ModelPackageArn!, detail);
  }
}

function packageKey(groupName: string, version: number): string {
  return `${nameKey(groupName)}@${String(version).padStart(8, '0')}`;
}
