import { acceptStop } from '../../../local/sagemaker/job-runner';

describe('acceptStop (Stop<Kind>Job, every job kind)', () => {
  it('stops an InProgress job and does nothing for one already Stopping', () => {
    expect(acceptStop('training', 'train-1', 'InProgress')).toBe(true);
    expect(acceptStop('processing', 'prep-1', 'Stopping')).toBe(false);
  });

  it('answers ResourceNotFound for an unknown job and ValidationException naming the kind and status otherwise', () => {
    expect(() => acceptStop('processing', 'nope', undefined)).toThrow(expect.objectContaining({ code: 'ResourceNotFound', message: 'Could not find requested job with name nope' }));
    expect(() => acceptStop('training', 'train-1', 'Completed')).toThrow(expect.objectContaining({ code: 'ValidationException', message: 'The request was rejected because the training job is in status Completed.' }));
  });
});
