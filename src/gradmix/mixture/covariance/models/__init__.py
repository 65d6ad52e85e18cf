"""mclust's fourteen covariance models, one module each."""
