/**
 * Types for asl-validator 3.16 (it ships none): the function the package exports, as its README
 * and src/validator.ts describe it. Note that it writes `QueryLanguage` into every state of the
 * definition it is given: pass it a copy.
 */
declare module 'asl-validator' {
  interface ValidationOptions {
    checkPaths?: boolean;
    checkArn?: boolean;
  }
  function aslValidator(
    definition: object,
    options?: ValidationOptions,
  ): { isValid: boolean; errors: { message?: string; Message?: string }[]; errorsText: (separator?: string) => string };
  export = aslValidator;
}
