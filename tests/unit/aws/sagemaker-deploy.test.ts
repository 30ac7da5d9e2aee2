import 'aws-sdk-client-mock-jest';

import { DeleteModelCommand, DescribeEndpointCommand, ListEndpointConfigsCommand, ListModelPackagesCommand, SageMakerClient, SageMakerServiceException } from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';

import { deleteModel, describeEndpoint, findLatestApprovedModelPackage, listEndpointConfigNames } from '../../../shared/aws/sagemaker';
import { RetryableError } from '../../../shared/errors';

const sagemaker = mockClient(SageMakerClient);

function validation(message: string) {
  return new SageMakerServiceException({ name: 'ValidationException', $fault: 'client', message, $metadata: {} });
}

beforeEach(() => {
  sagemaker.reset();
});

describe('describeEndpoint', () => {
  it('returns undefined for an endpoint that does not exist', async () => {
    sagemaker.on(DescribeEndpointCommand).rejects(validation('Could not find endpoint "arn:aws:sagemaker:us-east-1:123456789012:endpoint/x".'));

    await expect(describeEndpoint('x')).resolves.toBeUndefined();
  });

  it('rejects with RetryableError on throttling', async () => {
    sagemaker.on(DescribeEndpointCommand).rejects(new SageMakerServiceException({ name: 'ThrottlingException', $fault: 'client', message: 'Rate exceeded', $metadata: {} }));

    await expect(describeEndpoint('x')).rejects.toThrow(RetryableError);
  });
});

describe('deleteModel', () => {
  it('counts a model that is already gone as deleted', async () => {
    sagemaker.on(DeleteModelCommand).rejects(validation('Could not find model "x".'));

    await expect(deleteModel('x')).resolves.toBeUndefined();
  });
});

describe('findLatestApprovedModelPackage', () => {
  it('skips the excluded version and reads further pages', async () => {
    sagemaker
      .on(ListModelPackagesCommand)
      .resolvesOnce({ ModelPackageSummaryList: [{ ModelPackageArn: 'arn:g/5', ModelPackageVersion: 5, CreationTime: new Date(), ModelPackageStatus: 'Completed' }], NextToken: 'n' })
      .resolves({ ModelPackageSummaryList: [{ ModelPackageArn: 'arn:g/2', ModelPackageVersion: 2, CreationTime: new Date(), ModelPackageStatus: 'Completed' }] });

    await expect(findLatestApprovedModelPackage('g', 'arn:g/5')).resolves.toEqual({ modelPackageArn: 'arn:g/2', version: 2 });
  });

  it('returns undefined when no other version is Approved', async () => {
    sagemaker.on(ListModelPackagesCommand).resolves({ ModelPackageSummaryList: [] });

    await expect(findLatestApprovedModelPackage('g', 'arn:g/5')).resolves.toBeUndefined();
  });
});

describe('listEndpointConfigNames', () => {
  it('keeps only names that start with the prefix (NameContains matches anywhere)', async () => {
    sagemaker.on(ListEndpointConfigsCommand).resolves({ EndpointConfigs: [{ EndpointConfigName: 'g-prod-v1', EndpointConfigArn: 'a', CreationTime: new Date() }, { EndpointConfigName: 'other-g-prod-v1', EndpointConfigArn: 'a', CreationTime: new Date() }] });

    await expect(listEndpointConfigNames('g-prod-v')).resolves.toEqual(['g-prod-v1']);
  });
});
