export const templateDatabaseName = 'loopwise_test_template';
