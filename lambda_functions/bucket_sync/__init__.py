"""Shared code of the sync Lambda functions: packaged with every function, deployed as none.

Imports only the standard library and the boto3 that the Lambda runtime provides.
"""
